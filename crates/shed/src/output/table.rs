//! Column-aligned tables in the docker CLI's layout: upper-case headers, columns padded with
//! spaces and separated by three of them, no borders.

use std::fmt::Write as _;

/// A table being filled row by row.
#[derive(Debug)]
pub struct Table {
    rows: Vec<Vec<String>>,
}

const GAP: &str = "   ";

impl Table {
    pub fn new(headers: &[&str]) -> Table {
        Table {
            rows: vec![headers.iter().map(|h| (*h).to_owned()).collect()],
        }
    }

    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    /// Whether only the header row is present.
    pub fn is_empty(&self) -> bool {
        self.rows.len() == 1
    }

    /// The table as text, one line per row, each ending with a newline. The last column is not
    /// padded, so lines carry no trailing spaces.
    pub fn render(&self) -> String {
        let columns = self.rows.iter().map(Vec::len).max().unwrap_or(0);
        let widths: Vec<usize> = (0..columns)
            .map(|c| {
                self.rows
                    .iter()
                    .filter_map(move |r| r.get(c))
                    .map(|s| s.chars().count())
            })
            .map(|lengths| lengths.max().unwrap_or(0))
            .collect();

        let mut out = String::new();
        for row in &self.rows {
            let mut line = String::new();
            for (c, cell) in row.iter().enumerate() {
                if c + 1 == row.len() {
                    line.push_str(cell);
                } else {
                    // Writing to a String cannot fail.
                    let _ = write!(line, "{cell:<width$}{GAP}", width = widths[c]);
                }
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_align_and_lines_have_no_trailing_spaces() {
        let mut table = Table::new(&["IMAGE ID", "SIZE", "REASON"]);
        table.row(vec!["abc".into(), "1.99MB".into(), "dangling".into()]);
        table.row(vec!["abcdef012345".into(), "0B".into(), String::new()]);
        let expected = "\
IMAGE ID       SIZE     REASON
abc            1.99MB   dangling
abcdef012345   0B
";
        assert_eq!(table.render(), expected);
    }
}
