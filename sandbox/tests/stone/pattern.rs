//! The subset of regular expressions Stone's `pattern=` constraints use, matched against the
//! whole string as Stone's validators do: literals, `.`, classes (`[a-z]`, `[^/]`, `\w`, `\d`,
//! `\s`), groups with `|`, `*`, `+`, `?`, `{m}`, `{m,}`, `{m,n}`, `^` and `$`. Enough for every
//! pattern in the spec (a test checks that each one compiles); written here because the crate
//! has no regex dependency.

/// A compiled pattern.
#[derive(Debug, Clone, PartialEq)]
pub struct Pattern {
    alternatives: Vec<Vec<Node>>,
}

#[derive(Debug, Clone, PartialEq)]
enum Node {
    Char(char),
    Any,
    Class {
        negated: bool,
        items: Vec<Item>,
    },
    Group(Vec<Vec<Node>>),
    Repeat {
        node: Box<Node>,
        min: usize,
        max: Option<usize>,
    },
    Start,
    End,
}

#[derive(Debug, Clone, PartialEq)]
enum Item {
    Char(char),
    Range(char, char),
    Word,
    Digit,
    Space,
}

impl Item {
    fn matches(&self, c: char) -> bool {
        match self {
            Item::Char(x) => c == *x,
            Item::Range(a, b) => (*a..=*b).contains(&c),
            Item::Word => c.is_alphanumeric() || c == '_',
            Item::Digit => c.is_ascii_digit(),
            Item::Space => c.is_whitespace(),
        }
    }
}

impl Pattern {
    /// Compiles `source` (the pattern's text after Stone's string escapes are undone).
    pub fn compile(source: &str) -> Result<Pattern, String> {
        let chars: Vec<char> = source.chars().collect();
        let mut i = 0;
        let alternatives = alternatives(&chars, &mut i)?;
        if i != chars.len() {
            return Err(format!("unbalanced ) at {i} in {source:?}"));
        }
        Ok(Pattern { alternatives })
    }

    /// Whether the whole of `s` matches.
    pub fn full_match(&self, s: &str) -> bool {
        let chars: Vec<char> = s.chars().collect();
        let whole = Node::Group(self.alternatives.clone());
        node(&whole, 0, &chars, &mut |end| end == chars.len())
    }
}

fn alternatives(chars: &[char], i: &mut usize) -> Result<Vec<Vec<Node>>, String> {
    let mut alts = vec![Vec::new()];
    while *i < chars.len() {
        match chars[*i] {
            ')' => break,
            '|' => {
                *i += 1;
                alts.push(Vec::new());
            }
            _ => {
                let atom = atom(chars, i)?;
                let atom = quantified(atom, chars, i)?;
                alts.last_mut().expect("one alternative").push(atom);
            }
        }
    }
    Ok(alts)
}

fn atom(chars: &[char], i: &mut usize) -> Result<Node, String> {
    let c = chars[*i];
    *i += 1;
    Ok(match c {
        '(' => {
            let inner = alternatives(chars, i)?;
            if chars.get(*i) != Some(&')') {
                return Err("unclosed (".into());
            }
            *i += 1;
            Node::Group(inner)
        }
        '[' => class(chars, i)?,
        '.' => Node::Any,
        '^' => Node::Start,
        '$' => Node::End,
        '\\' => match escape(chars, i)? {
            Item::Char(c) => Node::Char(c),
            item => Node::Class {
                negated: false,
                items: vec![item],
            },
        },
        c => Node::Char(c),
    })
}

fn escape(chars: &[char], i: &mut usize) -> Result<Item, String> {
    let c = *chars.get(*i).ok_or("trailing backslash")?;
    *i += 1;
    Ok(match c {
        'w' => Item::Word,
        'd' => Item::Digit,
        's' => Item::Space,
        'r' => Item::Char('\r'),
        'n' => Item::Char('\n'),
        't' => Item::Char('\t'),
        c if c.is_alphanumeric() => return Err(format!("unsupported escape \\{c}")),
        c => Item::Char(c),
    })
}

fn class(chars: &[char], i: &mut usize) -> Result<Node, String> {
    let negated = chars.get(*i) == Some(&'^');
    if negated {
        *i += 1;
    }
    let mut items = Vec::new();
    loop {
        let c = *chars.get(*i).ok_or("unclosed [")?;
        *i += 1;
        let item = match c {
            ']' => break,
            '\\' => escape(chars, i)?,
            c => Item::Char(c),
        };
        let range_end = match (chars.get(*i), chars.get(*i + 1)) {
            (Some('-'), Some(end)) if *end != ']' => Some(*end),
            _ => None,
        };
        match (item, range_end) {
            (Item::Char(start), Some(end)) => {
                *i += 2;
                items.push(Item::Range(start, end));
            }
            (item, _) => items.push(item),
        }
    }
    Ok(Node::Class { negated, items })
}

fn quantified(atom: Node, chars: &[char], i: &mut usize) -> Result<Node, String> {
    let (min, max) = match chars.get(*i) {
        Some('*') => (0, None),
        Some('+') => (1, None),
        Some('?') => (0, Some(1)),
        Some('{') => {
            let close = chars[*i..]
                .iter()
                .position(|c| *c == '}')
                .ok_or("unclosed {")?;
            let body: String = chars[*i + 1..*i + close].iter().collect();
            let number = |s: &str| {
                s.trim()
                    .parse::<usize>()
                    .map_err(|e| format!("{{{body}}}: {e}"))
            };
            let (min, max) = match body.split_once(',') {
                None => (number(&body)?, Some(number(&body)?)),
                Some((min, "")) => (number(min)?, None),
                Some((min, max)) => (number(min)?, Some(number(max)?)),
            };
            *i += close;
            (min, max)
        }
        _ => return Ok(atom),
    };
    *i += 1;
    Ok(Node::Repeat {
        node: Box::new(atom),
        min,
        max,
    })
}

/// Matches `n` at `pos`, then calls `k` with each position it can end at (longest first)
/// until `k` accepts one.
fn node(n: &Node, pos: usize, s: &[char], k: &mut dyn FnMut(usize) -> bool) -> bool {
    let here = s.get(pos).copied();
    match n {
        Node::Char(c) => here == Some(*c) && k(pos + 1),
        Node::Any => here.is_some_and(|c| c != '\n') && k(pos + 1),
        Node::Class { negated, items } => {
            here.is_some_and(|c| items.iter().any(|item| item.matches(c)) != *negated) && k(pos + 1)
        }
        Node::Start => pos == 0 && k(pos),
        Node::End => pos == s.len() && k(pos),
        Node::Group(alts) => alts.iter().any(|alt| sequence(alt, pos, s, k)),
        Node::Repeat {
            node: inner,
            min,
            max,
        } => repeat(inner, *min, *max, 0, pos, s, k),
    }
}

fn sequence(seq: &[Node], pos: usize, s: &[char], k: &mut dyn FnMut(usize) -> bool) -> bool {
    match seq.split_first() {
        None => k(pos),
        Some((first, rest)) => node(first, pos, s, &mut |p| sequence(rest, p, s, k)),
    }
}

fn repeat(
    inner: &Node,
    min: usize,
    max: Option<usize>,
    count: usize,
    pos: usize,
    s: &[char],
    k: &mut dyn FnMut(usize) -> bool,
) -> bool {
    // Greedy: one more repetition first (one that consumes nothing cannot help).
    if max.is_none_or(|max| count < max)
        && node(inner, pos, s, &mut |p| {
            p != pos && repeat(inner, min, max, count + 1, p, s, k)
        })
    {
        return true;
    }
    count >= min && k(pos)
}

#[cfg(test)]
mod tests {
    use super::Pattern;

    #[test]
    fn the_spec_patterns() {
        let rev = Pattern::compile("[0-9a-f]+").unwrap();
        assert!(rev.full_match("a1c10ce0dd78") && !rev.full_match("rev-1"));
        let email =
            Pattern::compile(r"^['#&A-Za-z0-9._%+-]+@[A-Za-z0-9-][A-Za-z0-9.-]*\.[A-Za-z]{2,15}$")
                .unwrap();
        assert!(email.full_match("dana@sandbox.example"));
        assert!(!email.full_match("dana@localhost") && !email.full_match("no at.sign"));
        let path =
            Pattern::compile(r"(/(.|[\r\n])*|id:.*)|(rev:[0-9a-f]{9,})|(ns:[0-9]+(/(.|[\r\n])*)?)")
                .unwrap();
        for ok in ["/a/b", "id:abc", "rev:0123456789", "ns:3000", "ns:3000/x"] {
            assert!(path.full_match(ok), "{ok}");
        }
        for bad in ["a/b", "rev:12", "ns:x"] {
            assert!(!path.full_match(bad), "{bad}");
        }
        let name = Pattern::compile(r#"[^\/:?*<>"|]*"#).unwrap();
        assert!(name.full_match("Dana Demo") && !name.full_match("a/b"));
        assert!(Pattern::compile(r"[\w]+").unwrap().full_match("tag_1"));
        assert!(Pattern::compile("(/|ptid:).*")
            .unwrap()
            .full_match("ptid:1a2b"));
        assert!(Pattern::compile("(unclosed").is_err());
    }
}
