//! Acknowledging what a session reads at once, so that clients with Nagle's algorithm on
//! do not wait for the kernel's delayed ACK.
//!
//! A client that leaves Nagle on (pyvisa-py does for `TCPIP SOCKET` resources) holds back a
//! small write while an earlier one is unacknowledged. After a message that gets no reply
//! (`SOUR1:VOLT 0.5`), nothing carries the acknowledgement back at once: Linux delays it, by
//! 40 ms at least, hoping to send it with data, so the client's next message (`MEAS1:VOLT?`)
//! waits that long. A real instrument's TCP stack rarely delays its ACKs like that.
//!
//! `TCP_QUICKACK` makes Linux send a pending ACK now; the kernel clears it again by itself,
//! so it has to be set anew. [`Acking`] wraps a session's read half and sets it when an ACK
//! may be owed: data was read and nothing has been sent since (a reply carries the ACK).
//! It does so just before the session waits, for more bytes (the next read of the
//! socket) or for a delay ([`Acking::pay`]), so a query answered at once costs no extra
//! system call and a message without a reply is acknowledged within microseconds. On other
//! systems this does nothing.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, ReadBuf};
use tokio::net::TcpStream;

/// A session's read half that acknowledges what it has read before the session waits.
pub(super) struct Acking<R> {
    /// The socket's read half.
    inner: R,
    /// Set when a read returned data; cleared by an ACK sent ([`Acking::pay`]) or a reply
    /// written ([`Acking::replied`]).
    owed: bool,
    /// False with [`super::SimConfig::delayed_acks`]: the kernel's delayed ACKs are left
    /// alone, as before this existed.
    enabled: bool,
}

impl<R: AsRef<TcpStream>> Acking<R> {
    /// Wraps `inner`; with `enabled` false it only reads.
    pub(super) fn new(inner: R, enabled: bool) -> Acking<R> {
        Acking {
            inner,
            owed: false,
            enabled,
        }
    }

    /// Sends the ACK for what was read, if one may still be pending. Called before the
    /// session sleeps, and before every read of the socket.
    pub(super) fn pay(&mut self) {
        if self.owed {
            self.owed = false;
            quickack(self.inner.as_ref());
        }
    }

    /// A reply went out: it carried the ACK.
    pub(super) fn replied(&mut self) {
        self.owed = false;
    }
}

impl<R: AsyncRead + AsRef<TcpStream> + Unpin> AsyncRead for Acking<R> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        this.pay();
        let before = buf.filled().len();
        let polled = Pin::new(&mut this.inner).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            this.owed = this.enabled;
        }
        polled
    }
}

/// Asks Linux to acknowledge what `stream` has received now. A failure changes nothing
/// but the ACK's timing, so it is ignored.
#[cfg(any(target_os = "linux", target_os = "android"))]
fn quickack(stream: &TcpStream) {
    let _ = socket2::SockRef::from(stream).set_tcp_quickack(true);
}

/// Other systems: `TCP_QUICKACK` is Linux's; nothing is done.
#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn quickack(_stream: &TcpStream) {}
