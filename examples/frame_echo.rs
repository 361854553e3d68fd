//! A TCP echo server for length-prefixed frames, driven by the framing
//! machine.
//!
//! ```sh
//! cargo run --release --example frame_echo -- 127.0.0.1:7000   # or :0 for any port
//! python3 scripts/frame_echo_interop.py 127.0.0.1:7000
//! ```
//!
//! Each connection gets a thread, a [`Decoder`] with a 4 MiB frame cap and a
//! 4 MiB accumulation buffer. Every decoded frame is written back, framed the
//! same way (`struct.pack('>I', n) + body`). A frame over the cap, or a stream
//! that ends inside a frame, closes that connection with a logged reason; the
//! server keeps serving the others.
//!
//! The bound address is printed on start (`listening on 127.0.0.1:PORT`), so
//! port 0 can be used by tests.

#[path = "support/cli.rs"]
mod cli;

use std::io::{self, BufWriter, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::process::ExitCode;

use clap::Parser;

use hyperport::framing::{Config, Decoder, Encoder};

/// The frame cap: 4 MiB.
const MAX_FRAME_LEN: u32 = 4 * 1024 * 1024;
/// Bytes read from the socket per `read` call.
const READ_CHUNK: usize = 64 * 1024;

/// A TCP echo server for length-prefixed frames (`struct.pack('>I', n) +
/// body`), driven by hyperport's framing machine; 4 MiB frame cap. Prints
/// `listening on ADDR` when ready.
#[derive(Parser, Debug)]
#[command(name = "frame_echo")]
struct Args {
    /// Address to listen on (port 0: any free port).
    #[arg(default_value = "127.0.0.1:0")]
    addr: SocketAddr,
}

fn main() -> ExitCode {
    let Args { addr } = cli::parse();
    let listener = match TcpListener::bind(addr) {
        Ok(l) => l,
        Err(e) => cli::fail(format_args!("cannot listen on {addr}: {e}")),
    };
    match run(&listener) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("frame_echo: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(listener: &TcpListener) -> io::Result<()> {
    println!("listening on {}", listener.local_addr()?);
    io::stdout().flush()?;
    for stream in listener.incoming() {
        let stream = match stream {
            Ok(s) => s,
            Err(e) => {
                eprintln!("accept failed: {e}");
                continue;
            }
        };
        std::thread::spawn(move || {
            let peer = stream
                .peer_addr()
                .map_or_else(|_| "?".to_owned(), |a| a.to_string());
            match serve(stream) {
                Ok(frames) => eprintln!("{peer}: closed by peer after {frames} frames"),
                Err(reason) => eprintln!("{peer}: closing connection: {reason}"),
            }
        });
    }
    Ok(())
}

/// Echoes frames until the peer closes (returns the frame count) or
/// something goes wrong (returns why).
fn serve(stream: TcpStream) -> Result<u64, String> {
    let config = Config::new().with_max_frame_len(MAX_FRAME_LEN);
    let mut decoder =
        Decoder::new(config, vec![0u8; MAX_FRAME_LEN as usize]).map_err(|e| e.to_string())?;
    let encoder = Encoder::new(config);
    let mut reader = stream.try_clone().map_err(|e| e.to_string())?;
    let mut writer = BufWriter::with_capacity(READ_CHUNK, stream);
    let mut buf = vec![0u8; READ_CHUNK];
    let mut frames = 0u64;
    loop {
        // In the middle of a large body: read straight into the decoder's
        // storage instead of copying through `buf`.
        if let Some(dst) = decoder
            .body_remaining_mut()
            .filter(|d| d.len() >= READ_CHUNK)
        {
            let n = reader.read(dst).map_err(|e| format!("read: {e}"))?;
            if n == 0 {
                decoder.handle_eof().map_err(|e| e.to_string())?;
                return Ok(frames);
            }
            if let Some(frame) = decoder.handle_filled(n).map_err(|e| e.to_string())? {
                let prefix = encoder.prefix(frame.len()).map_err(|e| e.to_string())?;
                writer
                    .write_all(&prefix)
                    .and_then(|()| writer.write_all(frame))
                    .and_then(|()| writer.flush())
                    .map_err(|e| format!("write: {e}"))?;
                frames += 1;
            }
            continue;
        }
        let n = reader.read(&mut buf).map_err(|e| format!("read: {e}"))?;
        if n == 0 {
            decoder.handle_eof().map_err(|e| e.to_string())?;
            return Ok(frames);
        }
        let mut input = &buf[..n];
        loop {
            match decoder.handle_input(&mut input) {
                Ok(Some(frame)) => {
                    let prefix = encoder.prefix(frame.len()).map_err(|e| e.to_string())?;
                    writer
                        .write_all(&prefix)
                        .and_then(|()| writer.write_all(frame))
                        .map_err(|e| format!("write: {e}"))?;
                    frames += 1;
                }
                Ok(None) => break,
                Err(e) => {
                    // Echo what was complete, then drop the connection.
                    let _ = writer.flush();
                    let _ = writer.get_ref().shutdown(Shutdown::Both);
                    return Err(e.to_string());
                }
            }
        }
        writer.flush().map_err(|e| format!("write: {e}"))?;
    }
}
