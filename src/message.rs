//! Messages for people: an error or note as one readable line, the form both the CLI's
//! error exit and the app's status line use.

/// Longest message line (the start names the file and field; a dump of a whole input is
/// cut).
pub const LINE_CHARS: usize = 200;

/// A message as one readable line: whitespace runs collapsed, at most [`LINE_CHARS`]
/// characters (cut with an ellipsis).
pub fn one_line(msg: &str) -> String {
    let flat = msg.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() <= LINE_CHARS {
        return flat;
    }
    let mut cut: String = flat.chars().take(LINE_CHARS - 1).collect();
    cut.push('…');
    cut
}
