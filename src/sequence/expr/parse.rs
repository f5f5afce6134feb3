//! Parsing and checking: tokens to a postfix program, each name resolved once through the
//! [`Scope`], each operand's [`Kind`] checked where the text makes it certain.
//!
//! Precedence climbing, Python's levels (loosest first): `or`, `and`, `not`, comparisons
//! (which do not chain), `+ -`, `* / %`, unary `- +`, `**` (right-associative; its right
//! side may be a unary minus: `2 ** -1`). Left-associative chains are a loop, so `1+1+...`
//! of any length does not recurse; nesting recurses and stops at [`MAX_DEPTH`].

use std::ops::Range;

use super::eval::{Cmp, Op};
use super::func::{Arith, Func};
use super::kind::{self, Sub};
use super::lex::{Tok, Token};
use super::{Binding, ExprError, Kind, MAX_DEPTH, NameUse, Scope};
use crate::sequence::value::Value;

/// Binding power of a unary minus's operand (so `**` binds tighter on its right).
const UNARY: u8 = 13;

/// The parser's state: where it is in the tokens, and the program so far.
pub(super) struct Parser<'a> {
    /// The expression's text.
    pub text: &'a str,
    /// Its tokens, ending with [`Tok::End`].
    pub toks: Vec<Token>,
    /// The next token.
    pub at: usize,
    /// Where names are resolved.
    pub scope: &'a dyn Scope,
    /// The program.
    pub ops: Vec<Op>,
    /// The names used, in order.
    pub names: Vec<NameUse>,
    /// Values on the evaluation stack after the program so far.
    pub depth: usize,
    /// The most at any point: the stack the program needs.
    pub max_depth: usize,
}

/// An infix operator: its binding powers and what it is.
#[derive(Clone, Copy)]
enum Infix {
    Or,
    And,
    Cmp(Cmp),
    Arith(Arith),
}

/// The infix operator `tok` is, with its left and right binding powers.
fn infix(tok: &Tok) -> Option<(u8, u8, Infix)> {
    Some(match tok {
        Tok::Or => (1, 2, Infix::Or),
        Tok::And => (3, 4, Infix::And),
        Tok::Eq => (7, 8, Infix::Cmp(Cmp::Eq)),
        Tok::Ne => (7, 8, Infix::Cmp(Cmp::Ne)),
        Tok::Lt => (7, 8, Infix::Cmp(Cmp::Lt)),
        Tok::Le => (7, 8, Infix::Cmp(Cmp::Le)),
        Tok::Gt => (7, 8, Infix::Cmp(Cmp::Gt)),
        Tok::Ge => (7, 8, Infix::Cmp(Cmp::Ge)),
        Tok::Plus => (9, 10, Infix::Arith(Arith::Add)),
        Tok::Minus => (9, 10, Infix::Arith(Arith::Sub)),
        Tok::Star => (11, 12, Infix::Arith(Arith::Mul)),
        Tok::Slash => (11, 12, Infix::Arith(Arith::Div)),
        Tok::Percent => (11, 12, Infix::Arith(Arith::Mod)),
        Tok::Pow => (15, UNARY, Infix::Arith(Arith::Pow)),
        _ => return None,
    })
}

impl Parser<'_> {
    /// The whole text as one expression.
    pub(super) fn all(&mut self) -> Result<Sub, ExprError> {
        let sub = self.expr(0, 0)?;
        let tok = &self.toks[self.at];
        if tok.tok != Tok::End {
            return Err(self.unexpected("an operator or the end"));
        }
        Ok(sub)
    }

    /// The next token (the last is always [`Tok::End`]).
    fn peek(&self) -> &Token {
        &self.toks[self.at.min(self.toks.len() - 1)]
    }

    /// Takes the next token.
    fn bump(&mut self) -> Token {
        let tok = self.peek().clone();
        self.at = (self.at + 1).min(self.toks.len() - 1);
        tok
    }

    /// A syntax error at the next token.
    fn unexpected(&self, expected: &str) -> ExprError {
        let tok = self.peek();
        let found = if tok.tok == Tok::End {
            "the end".to_owned()
        } else {
            format!("`{}`", &self.text[tok.span.clone()])
        };
        ExprError::Syntax {
            span: tok.span.clone(),
            found,
            expected: expected.to_owned(),
        }
    }

    /// Appends `op`, which changes the stack by `delta` values.
    fn emit(&mut self, op: Op, delta: isize) {
        self.ops.push(op);
        self.depth = self.depth.saturating_add_signed(delta);
        self.max_depth = self.max_depth.max(self.depth);
    }

    /// An expression whose operators bind at least `min`, `nest` levels deep.
    fn expr(&mut self, min: u8, nest: usize) -> Result<Sub, ExprError> {
        if nest > MAX_DEPTH {
            return Err(ExprError::TooDeep {
                span: self.peek().span.clone(),
            });
        }
        let mut lhs = self.prefix(nest)?;
        let mut compared = false;
        while let Some((left, right, op)) = infix(&self.peek().tok) {
            if left < min {
                break;
            }
            let op_span = self.bump().span;
            lhs = match op {
                Infix::Or | Infix::And => {
                    kind::condition(self.text, &lhs, &op_span)?;
                    let jump = self.ops.len();
                    self.emit(Op::Jump(0), -1);
                    let rhs = self.expr(right, nest + 1)?;
                    kind::condition(self.text, &rhs, &op_span)?;
                    self.emit(Op::Truth, 0);
                    let to = self.ops.len();
                    self.ops[jump] = if matches!(op, Infix::Or) {
                        Op::OrJump(to)
                    } else {
                        Op::AndJump(to)
                    };
                    lhs.to(Kind::Bool, rhs.span.end)
                }
                Infix::Cmp(cmp) => {
                    if compared {
                        return Err(ExprError::Chained { span: op_span });
                    }
                    let rhs = self.expr(right, nest + 1)?;
                    kind::compare(self.text, cmp, &lhs, &rhs, &op_span)?;
                    self.emit(Op::Cmp(cmp), -1);
                    lhs.to(Kind::Bool, rhs.span.end)
                }
                Infix::Arith(arith) => {
                    let rhs = self.expr(right, nest + 1)?;
                    let kind = kind::arith(self.text, arith, &lhs, &rhs)?;
                    self.emit(Op::Arith(arith), -1);
                    lhs.to(kind, rhs.span.end)
                }
            };
            compared = matches!(op, Infix::Cmp(_));
        }
        Ok(lhs)
    }

    /// An operand: a literal, a name, a call, a parenthesized expression or a unary operator
    /// with its operand.
    fn prefix(&mut self, nest: usize) -> Result<Sub, ExprError> {
        let tok = self.peek().clone();
        let sub = |kind| Sub {
            kind,
            span: tok.span.clone(),
        };
        match tok.tok {
            Tok::Int(i) => {
                self.bump();
                self.emit(Op::Lit(Value::Int(i)), 1);
                Ok(sub(Kind::Int))
            }
            Tok::Float(x) => {
                self.bump();
                self.emit(Op::Lit(Value::Float(x)), 1);
                Ok(sub(Kind::Float))
            }
            Tok::Str(s) => {
                self.bump();
                self.emit(Op::Lit(Value::Str(s)), 1);
                Ok(sub(Kind::Text))
            }
            Tok::Name
                if self
                    .toks
                    .get(self.at + 1)
                    .is_some_and(|t| t.tok == Tok::LParen) =>
            {
                self.bump();
                self.call(tok.span, nest)
            }
            Tok::Name => {
                self.bump();
                self.name(tok.span)
            }
            Tok::LParen => {
                self.bump();
                let inner = self.expr(0, nest + 1)?;
                if self.peek().tok != Tok::RParen {
                    return Err(self.unexpected("`)` or an operator"));
                }
                let end = self.bump().span.end;
                Ok(Sub {
                    kind: inner.kind,
                    span: tok.span.start..end,
                })
            }
            Tok::Minus | Tok::Plus => {
                self.bump();
                let operand = self.expr(UNARY, nest + 1)?;
                let kind = kind::negate(self.text, &operand, &tok.span)?;
                let minus = tok.tok == Tok::Minus;
                // `-2` is a literal: fold it rather than negate per point.
                let literal = self.toks[self.at - 1].span == operand.span;
                match self.ops.last_mut() {
                    Some(Op::Lit(Value::Int(i))) if literal && minus => *i = -*i,
                    Some(Op::Lit(Value::Float(x))) if literal && minus => *x = -*x,
                    _ => self.emit(if minus { Op::Neg } else { Op::Pos }, 0),
                }
                Ok(Sub {
                    kind,
                    span: tok.span.start..operand.span.end,
                })
            }
            Tok::Not => {
                self.bump();
                let operand = self.expr(5, nest + 1)?;
                kind::condition(self.text, &operand, &tok.span)?;
                self.emit(Op::Not, 0);
                Ok(Sub {
                    kind: Kind::Bool,
                    span: tok.span.start..operand.span.end,
                })
            }
            _ => Err(self.unexpected("a number, a name, `'text'`, `(`, `-` or `not`")),
        }
    }

    /// A variable, parameter, measured value or the constant `pi`.
    fn name(&mut self, span: Range<usize>) -> Result<Sub, ExprError> {
        let name = &self.text[span.clone()];
        let kind = match self.scope.lookup(name) {
            Some(Binding::Slot(slot, kind)) => {
                self.emit(Op::Load(slot, kind == Kind::Reply), 1);
                self.names.push(NameUse {
                    span: span.clone(),
                    slot: Some(slot),
                    value: None,
                });
                kind
            }
            Some(Binding::Const(value)) => {
                let kind = kind::of_value(&value);
                self.emit(Op::Lit(value.clone()), 1);
                self.names.push(NameUse {
                    span: span.clone(),
                    slot: None,
                    value: Some(value),
                });
                kind
            }
            None if name == "pi" => {
                self.emit(Op::Lit(Value::Float(std::f64::consts::PI)), 1);
                Kind::Float
            }
            None if name == "true" || name == "false" => {
                self.emit(Op::Lit(Value::Bool(name == "true")), 1);
                Kind::Bool
            }
            None => {
                let mut known = self.scope.known();
                known.push("pi".into());
                return Err(ExprError::UnknownName {
                    span,
                    name: name.to_owned(),
                    known,
                });
            }
        };
        Ok(Sub { kind, span })
    }

    /// A function call; the name is taken, the `(` is next.
    fn call(&mut self, name_span: Range<usize>, nest: usize) -> Result<Sub, ExprError> {
        let name = &self.text[name_span.clone()];
        let Some(func) = Func::from_name(name) else {
            return Err(ExprError::UnknownFunction {
                span: name_span,
                name: name.to_owned(),
                is_variable: self.scope.lookup(name).is_some(),
            });
        };
        self.bump();
        let mut args: Vec<Sub> = Vec::new();
        let mut jumps = [0usize; 2];
        if self.peek().tok == Tok::RParen {
            self.bump();
        } else {
            loop {
                let arg = self.expr(0, nest + 1)?;
                self.argument(func, &args, &arg, &mut jumps)?;
                args.push(arg);
                match self.bump().tok {
                    Tok::Comma => {}
                    Tok::RParen => break,
                    _ => {
                        self.at -= 1;
                        return Err(self.unexpected("`,`, `)` or an operator"));
                    }
                }
            }
        }
        let end = self.toks[self.at - 1].span.end;
        let span = name_span.start..end;
        let (fewest, most, takes) = func.takes();
        if args.len() < fewest || args.len() > most {
            return Err(ExprError::Arity {
                span,
                name: func.name(),
                takes,
                given: args.len(),
            });
        }
        let kind = kind::call(self.text, func, &args)?;
        match (func, args.len()) {
            (Func::If | Func::Min | Func::Max, _) => {}
            (Func::Round, 2) | (Func::Atan2, _) => self.emit(Op::Call2(func), -1),
            _ => self.emit(Op::Call1(func), 0),
        }
        Ok(Sub { kind, span })
    }

    /// Checks and compiles what follows argument `arg` (number `args.len()`) of `func`: the
    /// jumps of `if`, the pairwise fold of `min`/`max`.
    fn argument(
        &mut self,
        func: Func,
        args: &[Sub],
        arg: &Sub,
        jumps: &mut [usize; 2],
    ) -> Result<(), ExprError> {
        let index = args.len();
        match (func, index) {
            (Func::If, 0) => {
                kind::condition(self.text, arg, &arg.span)?;
                jumps[0] = self.ops.len();
                self.emit(Op::JumpIfFalse(0), -1);
            }
            (Func::If, 1) => {
                jumps[1] = self.ops.len();
                // The other branch starts from the same stack.
                self.emit(Op::Jump(0), -1);
                self.ops[jumps[0]] = Op::JumpIfFalse(self.ops.len());
            }
            (Func::If, 2) => {
                let to = self.ops.len();
                self.ops[jumps[1]] = Op::Jump(to);
            }
            (Func::If, _) => {}
            (Func::Min | Func::Max, i) => {
                kind::number(self.text, arg, func.name())?;
                if i > 0 {
                    self.emit(Op::Call2(func), -1);
                }
            }
            (Func::Round, 1) => kind::digits(self.text, arg)?,
            _ => kind::number(self.text, arg, func.name())?,
        }
        Ok(())
    }
}
