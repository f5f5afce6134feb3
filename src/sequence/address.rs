//! Instrument addresses: VISA socket resource strings and `host:port`.
//!
//! Accepts what pyvisa users already write, `TCPIP::192.168.0.5::5025::SOCKET` (board number
//! and case optional, as in `tcpip0::host::5025::socket`), and plain `host:port` /
//! `[::1]:port`. Name resolution happens when connecting, not here.

use std::fmt;

/// Why a text is not an address; each names the text as written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AddressError {
    /// A `TCPIP...` resource other than `TCPIP[n]::host::port::SOCKET`.
    #[error(
        "address `{text}` is not a VISA socket resource: write `TCPIP::host::port::SOCKET` \
         (INSTR/VXI-11 and HiSLIP are not supported)"
    )]
    NotSocket {
        /// The address as written (trimmed).
        text: String,
    },
    /// No `:` before a port.
    #[error("address `{text}` has no port: write `host:port` or `TCPIP::host::port::SOCKET`")]
    NoPort {
        /// The address as written (trimmed).
        text: String,
    },
    /// No host, or an IPv6 host without brackets.
    #[error("address `{text}` is not `host:port` (write IPv6 as `[::1]:5025`)")]
    NotHostPort {
        /// The address as written (trimmed).
        text: String,
    },
    /// A port that is not a number from 0 to 65535.
    #[error("address `{text}` has a bad port `{port}` (0-65535)")]
    BadPort {
        /// The address as written (trimmed).
        text: String,
        /// The port as written.
        port: String,
    },
}

/// Where an instrument listens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Address {
    /// Host name or IP literal (IPv6 without brackets).
    pub host: String,
    /// TCP port.
    pub port: u16,
}

impl Address {
    /// Parses a VISA `TCPIP[n]::host::port::SOCKET` resource or `host:port`.
    pub fn parse(text: &str) -> Result<Address, AddressError> {
        let text = text.trim();
        let upper = text.to_ascii_uppercase();
        if upper.starts_with("TCPIP") {
            let parts: Vec<&str> = text.split("::").collect();
            let board_ok = parts[0][5..].chars().all(|c| c.is_ascii_digit());
            if parts.len() == 4 && board_ok && parts[3].eq_ignore_ascii_case("SOCKET") {
                return Ok(Address {
                    host: parts[1].to_owned(),
                    port: parse_port(parts[2], text)?,
                });
            }
            return Err(AddressError::NotSocket { text: text.into() });
        }
        let (host, port) = text
            .rsplit_once(':')
            .ok_or_else(|| AddressError::NoPort { text: text.into() })?;
        let host = host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(host);
        if host.is_empty() || (host.contains(':') && !text.starts_with('[')) {
            return Err(AddressError::NotHostPort { text: text.into() });
        }
        Ok(Address {
            host: host.to_owned(),
            port: parse_port(port, text)?,
        })
    }
}

/// The port `port` of the address `text`.
fn parse_port(port: &str, text: &str) -> Result<u16, AddressError> {
    port.parse::<u16>().map_err(|_| AddressError::BadPort {
        text: text.into(),
        port: port.into(),
    })
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

impl From<std::net::SocketAddr> for Address {
    fn from(addr: std::net::SocketAddr) -> Self {
        Address {
            host: addr.ip().to_string(),
            port: addr.port(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_accepted_forms() {
        let cases = [
            ("TCPIP::127.0.0.1::5025::SOCKET", "127.0.0.1", 5025),
            ("tcpip0::lab-dmm::5025::socket", "lab-dmm", 5025),
            ("TCPIP1::10.0.0.2::1234::SOCKET", "10.0.0.2", 1234),
            ("127.0.0.1:5025", "127.0.0.1", 5025),
            ("localhost:80", "localhost", 80),
            ("[::1]:5025", "::1", 5025),
        ];
        for (text, host, port) in cases {
            let a = Address::parse(text).unwrap();
            assert_eq!((a.host.as_str(), a.port), (host, port), "{text}");
        }
    }

    #[test]
    fn rejects_bad_forms() {
        let cases = [
            ("TCPIP::host::5025::INSTR", "not a VISA socket"),
            ("TCPIP::host::SOCKET", "not a VISA socket"),
            ("GPIB::1::INSTR", "is not `host:port`"),
            ("host", "has no port"),
            ("host:99999", "bad port"),
            ("host:abc", "bad port"),
            (":5025", "is not `host:port`"),
            ("::1:5025", "is not `host:port`"),
        ];
        for (text, msg) in cases {
            let err = Address::parse(text).unwrap_err().to_string();
            assert!(err.contains(msg), "{text}: {err}");
        }
    }

    #[test]
    fn displays_as_host_port() {
        assert_eq!(Address::parse("[::1]:7").unwrap().to_string(), "[::1]:7");
        assert_eq!(
            Address::parse("TCPIP::h::7::SOCKET").unwrap().to_string(),
            "h:7"
        );
    }
}
