//! The commands beside `serve`: `switchboard history` (print or export a room's stored chat) and
//! `switchboard token` (mint a join token, make a key pair).

pub mod history;
pub mod token;
