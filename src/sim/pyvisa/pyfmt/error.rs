//! The exceptions of `str.format`, `int()` and `float()` as Python raises them, typed:
//! [`PyError`] displays as the last line of Python's traceback, `ExceptionType: message`,
//! and a case this module does not reproduce as `unsupported: ...`.

/// A Python exception, or a case this module refuses where Python would go on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PyError {
    /// `ValueError`, which pyvisa-sim catches.
    #[error("ValueError: {0}")]
    Value(#[from] ValueError),
    /// `KeyError`: a named field (`{x}`); `key` is the name's `repr`.
    #[error("KeyError: {key}")]
    Key {
        /// The field name, as Python's `repr` writes it.
        key: String,
    },
    /// `IndexError`: a field number other than 0 (only one value is formatted).
    #[error("IndexError: Replacement index {index} out of range for positional args tuple")]
    Index {
        /// The field number.
        index: i64,
    },
    /// `OverflowError`.
    #[error("OverflowError: {0}")]
    Overflow(#[from] OverflowError),
    /// What Python accepts but this module does not reproduce.
    #[error("unsupported: {0}")]
    Unsupported(#[from] Unsupported),
}

/// The messages of Python's `ValueError`s, in Python's words.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValueError {
    /// Fields nested more than two levels deep.
    #[error("Max string recursion exceeded")]
    MaxRecursion,
    /// `{0}{}`.
    #[error("cannot switch from manual field specification to automatic field numbering")]
    ManualToAuto,
    /// `{}{0}`.
    #[error("cannot switch from automatic field numbering to manual field specification")]
    AutoToManual,
    /// A conversion other than `!s`, `!r`, `!a`; `code` as Python quotes it.
    #[error("Unknown conversion specifier {code}")]
    UnknownConversion {
        /// The conversion character, quoted.
        code: String,
    },
    /// A float precision past `i32::MAX`.
    #[error("precision too big")]
    PrecisionTooBig,
    /// A presentation type the value's type does not have.
    #[error("Unknown format code '{code}' for object of type '{type_name}'")]
    UnknownCode {
        /// The presentation type, quoted.
        code: String,
        /// `int`, `float` or `str`.
        type_name: &'static str,
    },
    /// A `.` without digits after it.
    #[error("Format specifier missing precision")]
    MissingPrecision,
    /// More than one character left after the spec's fields.
    #[error("Invalid format specifier '{spec}' for object of type '{type_name}'")]
    InvalidSpec {
        /// The whole spec.
        spec: String,
        /// `int`, `float` or `str`.
        type_name: &'static str,
    },
    /// A separator the presentation type cannot take.
    #[error("Cannot specify '{sep}' with '{code}'.")]
    SeparatorWith {
        /// `,` or `_`.
        sep: char,
        /// The presentation type, quoted.
        code: String,
    },
    /// `,` and `_` together.
    #[error("Cannot specify both ',' and '_'.")]
    BothSeparators,
    /// A number in a template or spec past `Py_ssize_t`.
    #[error("Too many decimal digits in format string")]
    TooManyDigits,
    /// `{: s}`.
    #[error("Space not allowed in string format specifier")]
    StrSpace,
    /// `{:+s}`.
    #[error("Sign not allowed in string format specifier")]
    StrSign,
    /// `{:zs}`.
    #[error("Negative zero coercion (z) not allowed in string format specifier")]
    StrNegativeZero,
    /// `{:#s}`.
    #[error("Alternate form (#) not allowed in string format specifier")]
    StrAlternate,
    /// `{:=s}`.
    #[error("'=' alignment not allowed in string format specifier")]
    StrEqualsAlign,
    /// `{:.2d}`.
    #[error("Precision not allowed in integer format specifier")]
    IntPrecision,
    /// `{:zd}`.
    #[error("Negative zero coercion (z) not allowed in integer format specifier")]
    IntNegativeZero,
    /// `{:+c}`.
    #[error("Sign not allowed with integer format specifier 'c'")]
    CharSign,
    /// `{:#c}`.
    #[error("Alternate form (#) not allowed with integer format specifier 'c'")]
    CharAlternate,
    /// A `}` alone.
    #[error("Single '}}' encountered in format string")]
    SingleClose,
    /// A `{` alone at the end.
    #[error("Single '{{' encountered in format string")]
    SingleOpen,
    /// `{a{`.
    #[error("unexpected '{{' in field name")]
    BraceInName,
    /// A field without its `}`.
    #[error("expected '}}' before end of string")]
    ExpectedClose,
    /// `{!`.
    #[error("end of string while looking for conversion specifier")]
    EndInConversion,
    /// `{!r x}`.
    #[error("expected ':' after conversion specifier")]
    ExpectedColon,
    /// A spec whose nested `{` is never closed.
    #[error("unmatched '{{' in format spec")]
    UnmatchedInSpec,
    /// `int("1.5")`; `literal` is the text's `repr`.
    #[error("invalid literal for int() with base 10: {literal}")]
    IntLiteral {
        /// The text, as Python's `repr` writes it.
        literal: String,
    },
    /// `float("x")`; `literal` is the text's `repr`.
    #[error("could not convert string to float: {literal}")]
    FloatLiteral {
        /// The text, as Python's `repr` writes it.
        literal: String,
    },
    /// `int(float("nan"))`.
    #[error("cannot convert float NaN to integer")]
    NanToInt,
}

/// The messages of Python's `OverflowError`s.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OverflowError {
    /// `{:c}` of a number that is no code point.
    #[error("%c arg not in range(0x110000)")]
    CharRange,
    /// `int(float("inf"))`.
    #[error("cannot convert float infinity to integer")]
    InfinityToInt,
}

/// What Python accepts but this module does not reproduce (see the module docs).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Unsupported {
    /// `{0.real}`, `{0[0]}`.
    #[error("attribute or index access `{name}` in a replacement field")]
    Access {
        /// The field name.
        name: String,
    },
    /// `{:c}` of a surrogate code point.
    #[error("{{:c}} of {code} is a surrogate, which a Rust string cannot hold")]
    Surrogate {
        /// The number.
        code: i64,
    },
    /// A width past the limit.
    #[error("format spec width {width} is over the limit of {max}")]
    Width {
        /// The width asked for.
        width: i64,
        /// The limit.
        max: i64,
    },
    /// A precision past the limit.
    #[error("format spec precision {precision} is over the limit of {max}")]
    Precision {
        /// The precision asked for.
        precision: i64,
        /// The limit.
        max: i64,
    },
    /// `int()` of a number past 64 bits; `arg` is the argument as Python's `repr` writes
    /// it.
    #[error("int({arg}) does not fit in 64 bits")]
    BigInt {
        /// The argument, as Python's `repr` writes it.
        arg: String,
    },
}
