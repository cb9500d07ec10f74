//! `switchboard chat --ask-password`: the room password read on the terminal with echo off, or,
//! when standard input is not a terminal, from its first line (for scripts).

use std::fs::OpenOptions;
use std::io::{BufRead, BufReader, IsTerminal, Write};
use std::os::fd::AsFd;

use nix::sys::termios::{self, LocalFlags, SetArg};

use crate::password::Password;

/// Asks for the password: on the controlling terminal (not echoed) if standard input is one,
/// else the first line of standard input, read unbuffered so the lines after it stay for chat.
pub fn ask_password() -> anyhow::Result<Password> {
    if std::io::stdin().is_terminal() {
        from_terminal()
    } else {
        first_stdin_line()
    }
}

fn from_terminal() -> anyhow::Result<Password> {
    let tty = OpenOptions::new().read(true).write(true).open("/dev/tty")?;
    let before = termios::tcgetattr(tty.as_fd())?;
    let mut quiet = before.clone();
    quiet.local_flags.remove(LocalFlags::ECHO);
    quiet.local_flags.insert(LocalFlags::ECHONL);
    (&tty).write_all(b"Room password: ")?;
    termios::tcsetattr(tty.as_fd(), SetArg::TCSANOW, &quiet)?;
    let mut line = String::new();
    let read = BufReader::new(&tty).read_line(&mut line);
    termios::tcsetattr(tty.as_fd(), SetArg::TCSANOW, &before)?;
    read?;
    Ok(Password::from(trim_newline(line)))
}

fn first_stdin_line() -> anyhow::Result<Password> {
    let mut bytes = Vec::new();
    let mut byte = [0u8; 1];
    loop {
        match nix::unistd::read(std::io::stdin().as_fd(), &mut byte)? {
            0 => break,
            _ if byte[0] == b'\n' => break,
            _ => bytes.push(byte[0]),
        }
    }
    let line =
        String::from_utf8(bytes).map_err(|_| anyhow::anyhow!("the password is not UTF-8"))?;
    Ok(Password::from(trim_newline(line)))
}

fn trim_newline(mut line: String) -> String {
    while line.ends_with(['\n', '\r']) {
        line.pop();
    }
    line
}
