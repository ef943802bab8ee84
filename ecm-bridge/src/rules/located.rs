//! Line and column of an error in a TOML rules text: for TOML's own errors (syntax, unknown
//! fields, wrong types) and for the rules' (a bad glob or regular expression, a target with two
//! places, an unclosed `{` in a template), which are found after parsing and are located by
//! the rule's index and the field at fault.

use toml::de::{DeTable, DeValue};

/// 1-based line and column (in characters) of byte offset `at` of `text`.
pub(crate) fn line_col(text: &str, at: usize) -> (usize, usize) {
    let at = at.min(text.len());
    // Offsets from the parser fall on character boundaries; step back to one if not.
    let mut at = at;
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    let before = &text[..at];
    let line = before.matches('\n').count() + 1;
    let start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[start..].chars().count() + 1)
}

/// A TOML error as one line: `line L, column C: message` (TOML's own `Display` spans several
/// lines, with a drawing of the text).
pub(crate) fn toml_error(text: &str, e: &toml::de::Error) -> String {
    match e.span() {
        Some(span) => {
            let (line, col) = line_col(text, span.start);
            format!("line {line}, column {col}: {}", e.message().trim())
        }
        None => e.message().trim().to_owned(),
    }
}

/// Where `field` of the `index`-th `[[rule]]` of `text` is written (its value), else where the
/// rule is, else nothing.
pub(crate) fn rule_field(text: &str, index: usize, field: &str) -> Option<(usize, usize)> {
    let doc = DeTable::parse(text).ok()?;
    let rules = doc
        .get_ref()
        .iter()
        .find(|(k, _)| k.get_ref() == "rule")
        .map(|(_, v)| v)?;
    let DeValue::Array(items) = rules.get_ref() else {
        return None;
    };
    let rule = items.get(index)?;
    let span = match rule.get_ref() {
        DeValue::Table(t) => t
            .iter()
            .find(|(k, _)| k.get_ref() == field)
            // The key, not the value: a sub-table's value span can start after its header.
            .map(|(k, _)| k.span())
            .unwrap_or_else(|| rule.span()),
        _ => rule.span(),
    };
    Some(line_col(text, span.start))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_and_columns_count_characters() {
        let text = "ab\nçd=1\n";
        assert_eq!(line_col(text, 0), (1, 1));
        assert_eq!(line_col(text, 3), (2, 1));
        // 'ç' is two bytes; 'd' is the second character.
        assert_eq!(line_col(text, 5), (2, 2));
        assert_eq!(line_col(text, 4), (2, 1)); // inside 'ç': its start, column 1
        assert_eq!(line_col(text, 99), (3, 1));
    }

    #[test]
    fn fields_of_the_nth_rule_are_found() {
        let text = "[[rule]]\nname = 'a'\n\n[[rule]]\nname = 'b'\npath = '('\n";
        assert_eq!(rule_field(text, 1, "path"), Some((6, 1)));
        assert_eq!(rule_field(text, 0, "name"), Some((2, 1)));
        assert_eq!(rule_field(text, 2, "path"), None);
    }
}
