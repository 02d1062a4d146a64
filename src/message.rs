//! Messages for people: an error or note as one readable line, the form both the CLI's
//! error exit and the app's status line use.

/// Longest message line (the start names the file and field; a dump of a whole input is
/// cut).
pub const LINE_CHARS: usize = 200;

/// A message as one readable line: whitespace runs collapsed, at most [`LINE_CHARS`]
/// characters (cut with an ellipsis).
pub fn one_line(msg: &str) -> String {
    let flat = compact_numbers(&msg.split_whitespace().collect::<Vec<_>>().join(" "));
    if flat.chars().count() <= LINE_CHARS {
        return flat;
    }
    let mut cut: String = flat.chars().take(LINE_CHARS - 1).collect();
    cut.push('…');
    cut
}

/// Numbers of more than 20 digits (an `f64` such as 10³⁰⁸ or 10⁻³⁰⁰ printed in full) in
/// scientific notation, as a person reads them: `1e308`, not 309 digits.
fn compact_numbers(s: &str) -> String {
    let c: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < c.len() {
        let starts =
            c[i].is_ascii_digit() && (i == 0 || !(c[i - 1].is_ascii_digit() || c[i - 1] == '.'));
        if !starts {
            out.push(c[i]);
            i += 1;
            continue;
        }
        let mut j = i;
        while j < c.len()
            && (c[j].is_ascii_digit()
                || (c[j] == '.' && c.get(j + 1).is_some_and(|d| d.is_ascii_digit())))
        {
            j += 1;
        }
        let token: String = c[i..j].iter().collect();
        let digits = token.chars().filter(char::is_ascii_digit).count();
        match token.parse::<f64>() {
            Ok(x) if digits > 20 => out.push_str(&format!("{x:e}")),
            _ => out.push_str(&token),
        }
        i = j;
    }
    out
}
