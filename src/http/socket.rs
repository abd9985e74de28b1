//! A connection's socket that can move to another runtime's I/O driver (`serve::HandOver`):
//! once `rehome` is set, the next use deregisters it from the driver it was registered with
//! and registers it with the runtime polling it, so that its readiness events no longer take
//! the first runtime's threads.

use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

pub struct Socket {
    stream: Option<TcpStream>,
    rehome: Arc<AtomicBool>,
}

impl Socket {
    pub fn new(stream: TcpStream) -> (Self, Arc<AtomicBool>) {
        let rehome = Arc::new(AtomicBool::new(false));
        let socket = Socket {
            stream: Some(stream),
            rehome: rehome.clone(),
        };
        (socket, rehome)
    }

    /// The stream, registered with the current runtime when a move was asked for.
    fn stream(&mut self) -> io::Result<Pin<&mut TcpStream>> {
        if self.rehome.swap(false, Ordering::AcqRel) {
            if let Some(stream) = self.stream.take() {
                self.stream = Some(TcpStream::from_std(stream.into_std()?)?);
            }
        }
        match self.stream.as_mut() {
            Some(stream) => Ok(Pin::new(stream)),
            None => Err(io::Error::other("the socket was lost moving runtimes")),
        }
    }
}

impl AsyncRead for Socket {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut().stream() {
            Ok(stream) => stream.poll_read(cx, buf),
            Err(e) => Poll::Ready(Err(e)),
        }
    }
}

impl AsyncWrite for Socket {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut().stream() {
            Ok(stream) => stream.poll_write(cx, buf),
            Err(e) => Poll::Ready(Err(e)),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut().stream() {
            Ok(stream) => stream.poll_write_vectored(cx, bufs),
            Err(e) => Poll::Ready(Err(e)),
        }
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut().stream() {
            Ok(stream) => stream.poll_flush(cx),
            Err(e) => Poll::Ready(Err(e)),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut().stream() {
            Ok(stream) => stream.poll_shutdown(cx),
            Err(e) => Poll::Ready(Err(e)),
        }
    }
}
