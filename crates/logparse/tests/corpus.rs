//! Format detection over a labeled corpus (`tests/corpus.txt`, one `<format>\t<line>` per
//! line): misdetection must stay below 1%. Prints the confusion counts.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;

use lookout_logparse::{parse_at, Format, Parser};

/// 2024-06-01T12:00:00Z.
const NOW: u64 = 1_717_243_200_000_000_000;

#[test]
fn corpus_detection() {
    let text = include_str!("corpus.txt");
    let mut confusion: BTreeMap<(&str, &str), usize> = BTreeMap::new();
    let (mut total, mut wrong) = (0usize, 0usize);
    for (n, row) in text.lines().enumerate() {
        if row.starts_with('#') || row.is_empty() {
            continue;
        }
        let (label, line) = row.split_once('\t').unwrap();
        let expected =
            Format::from_name(label).unwrap_or_else(|| panic!("line {}: {label}", n + 1));
        let got = parse_at(line, Parser::Auto, NOW).format;
        total += 1;
        *confusion
            .entry((expected.as_str(), got.as_str()))
            .or_default() += 1;
        if got != expected {
            wrong += 1;
            println!(
                "MISDETECTED line {}: expected {label}, got {}: {line}",
                n + 1,
                got.as_str()
            );
        }
    }
    println!("expected -> detected: count");
    for ((e, g), c) in &confusion {
        println!("{e:>11} -> {g:<11} {c}");
    }
    println!("{wrong}/{total} misdetected");
    assert!(total >= 200, "corpus too small: {total}");
    assert!(wrong * 100 < total, "{wrong}/{total} misdetected");
}
