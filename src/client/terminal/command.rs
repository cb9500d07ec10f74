//! What a typed line means: chat, or one of the commands `/quit`, `/who`, `/me`, `/nick`,
//! `/help`.

use super::room::RoomView;

/// A typed line, understood.
#[derive(Debug, PartialEq)]
pub enum Input {
    /// Send this chat text (`/me waves` is sent as it is: clients show it as an action).
    Say(String),
    Quit,
    Who,
    /// Answer the user with this, send nothing.
    Reply(String),
    Nothing,
}

pub const HELP: &str = "commands: /who (who is here), /me ACTION, /quit; Enter sends, Up and Down recall what you typed, PageUp and PageDown scroll";

pub fn parse(line: &str) -> Input {
    let line = line.trim_end_matches(['\r', '\n']);
    let trimmed = line.trim();
    if trimmed.is_empty() {
        return Input::Nothing;
    }
    let (word, rest) = trimmed.split_once(' ').unwrap_or((trimmed, ""));
    match word {
        "/quit" | "/exit" => Input::Quit,
        "/who" => Input::Who,
        "/help" => Input::Reply(HELP.into()),
        "/me" if rest.trim().is_empty() => {
            Input::Reply("/me needs an action, e.g. /me waves".into())
        }
        "/me" => Input::Say(format!("/me {}", rest.trim())),
        // The protocol has no rename: a name is the membership's, chosen at join.
        "/nick" => Input::Reply(
            "names are chosen when joining: /quit, then start again with --name NEW".into(),
        ),
        w if w.starts_with("//") => Input::Say(trimmed[1..].to_string()),
        w if w.starts_with('/') => Input::Reply(format!("unknown command {w}; {HELP}")),
        _ => Input::Say(line.trim_end().to_string()),
    }
}

/// `/who`: everyone, with the host marked and each link's state.
pub fn who(room: &RoomView) -> String {
    let mut names = vec![if room.i_host() {
        format!("{} (you, host)", room.my_name)
    } else {
        format!("{} (you)", room.my_name)
    }];
    for (id, m) in &room.members {
        let role = if room.hosts(id) { "host, " } else { "" };
        let name = super::text::printable(&m.name);
        names.push(format!("{name} ({role}{})", room.link_words(id)));
    }
    format!("#{} ({}): {}", room.room, room.shape(), names.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_and_commands() {
        assert_eq!(parse("hello"), Input::Say("hello".into()));
        assert_eq!(parse("  spaced  "), Input::Say("  spaced".into()));
        assert_eq!(parse("/quit"), Input::Quit);
        assert_eq!(parse("/me waves "), Input::Say("/me waves".into()));
        assert_eq!(
            parse("//not a command"),
            Input::Say("/not a command".into())
        );
        assert!(matches!(parse("/nick bob"), Input::Reply(_)));
        assert!(matches!(parse("/frobnicate"), Input::Reply(r) if r.contains("unknown command")));
        assert_eq!(parse("   "), Input::Nothing);
    }
}
