//! Every file in tests/invalid_configs gives exactly its one error, with file:line:column, and
//! exit code 2; `lookout run` on it starts nothing.

use crate::support::*;

fn header(text: &str, key: &str) -> Option<String> {
    text.lines().find_map(|l| {
        l.strip_prefix(&format!("# {key}: "))
            .map(|s| s.trim().to_string())
    })
}

#[test]
fn each_invalid_config_gives_one_clear_error_and_exit_2() {
    let dir = repo().join("tests/invalid_configs");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    assert!(
        files.len() >= 12,
        "at least 12 malformed configs, found {}",
        files.len()
    );
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap();
        let expect =
            header(&text, "expect").unwrap_or_else(|| panic!("{} lacks `# expect:`", f.display()));
        let at = header(&text, "at").unwrap_or_else(|| panic!("{} lacks `# at:`", f.display()));
        let path = f.to_str().unwrap();
        let (code, out, err) = lookout(&["config", "validate", path]);
        assert_eq!(code, 2, "{}: exit code; stderr:\n{err}", f.display());
        assert!(out.is_empty(), "{}: nothing on stdout", f.display());
        let position = format!("{path}:{at}: ");
        assert!(
            err.contains(&position),
            "{}: expected position {at} in:\n{err}",
            f.display()
        );
        assert!(
            err.contains(&expect),
            "{}: expected `{expect}` in:\n{err}",
            f.display()
        );
        // one error: a single position line
        assert_eq!(
            err.matches(&format!("{path}:")).count(),
            1,
            "{}: one error only:\n{err}",
            f.display()
        );

        let data = tempfile::tempdir().unwrap();
        let (code, _, err2) = lookout(&[
            "run",
            "--config",
            path,
            "--data-dir",
            data.path().to_str().unwrap(),
        ]);
        assert_eq!(code, 2, "{}: run must refuse: {err2}", f.display());
        assert!(
            !data.path().join("agent.json").exists(),
            "{}: nothing started",
            f.display()
        );
    }
}
