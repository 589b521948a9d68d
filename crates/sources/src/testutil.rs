//! Test helpers: a fake host (a proc root copied from `lookout-proc`'s recorded samples, and an
//! empty root for filesystems) and lookups into a collected request.
#![allow(clippy::unwrap_used)]

use lookout_model::otlp::{metric::Data, number_data_point, ExportMetricsServiceRequest};
use lookout_model::otlp::{Metric, NumberDataPoint};
use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

/// The `proc` folder of the recorded Debian 12 samples of `lookout-proc`.
pub(crate) fn fixture_proc() -> PathBuf {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../proc/fixtures");
    let mut dirs: Vec<PathBuf> = fs::read_dir(&fixtures)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("debian12-"))
        })
        .collect();
    dirs.sort();
    dirs.first()
        .unwrap_or_else(|| panic!("no debian12-* fixture in {}", fixtures.display()))
        .join("proc")
}

/// A host made of files in a temporary directory: `proc` (a copy of the fixtures, safe to edit)
/// and `root` (an empty directory standing for `/`).
pub(crate) struct FakeHost {
    _dir: tempfile::TempDir,
    pub(crate) proc: PathBuf,
    pub(crate) root: PathBuf,
}

impl FakeHost {
    pub(crate) fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let proc = dir.path().join("proc");
        let root = dir.path().join("root");
        copy_dir(&fixture_proc(), &proc);
        // the root is not `/`: the host's mounts are read from its init's mount table
        fs::create_dir_all(proc.join("1")).unwrap();
        fs::copy(proc.join("self/mountinfo"), proc.join("1/mountinfo")).unwrap();
        fs::create_dir(&root).unwrap();
        FakeHost {
            _dir: dir,
            proc,
            root,
        }
    }

    /// Replaces `from` by `to` in the proc file `name` (which must contain it).
    pub(crate) fn edit(&self, name: &str, from: &str, to: &str) {
        let path = self.proc.join(name);
        let text = fs::read_to_string(&path).unwrap();
        assert!(text.contains(from), "{from:?} not in {name}");
        fs::write(&path, text.replace(from, to)).unwrap();
    }
}

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// The metric called `name`, if the request has it.
pub(crate) fn metric<'a>(r: &'a ExportMetricsServiceRequest, name: &str) -> Option<&'a Metric> {
    r.resource_metrics
        .iter()
        .flat_map(|rm| &rm.scope_metrics)
        .flat_map(|sm| &sm.metrics)
        .find(|m| m.name == name)
}

/// The data points of `name` (none if it is absent).
pub(crate) fn points<'a>(
    r: &'a ExportMetricsServiceRequest,
    name: &str,
) -> Vec<&'a NumberDataPoint> {
    match metric(r, name).and_then(|m| m.data.as_ref()) {
        Some(Data::Gauge(g)) => g.data_points.iter().collect(),
        Some(Data::Sum(s)) => s.data_points.iter().collect(),
        _ => Vec::new(),
    }
}

/// A point's value as a float.
pub(crate) fn value(p: &NumberDataPoint) -> f64 {
    match p.value {
        Some(number_data_point::Value::AsDouble(d)) => d,
        Some(number_data_point::Value::AsInt(i)) => i as f64,
        None => f64::NAN,
    }
}

/// A point's attributes as `(key, value)` strings.
pub(crate) fn attrs(p: &NumberDataPoint) -> Vec<(String, String)> {
    p.attributes
        .iter()
        .map(|kv| {
            (
                kv.key.clone(),
                lookout_model::attr::value_to_string(kv.value.as_ref()),
            )
        })
        .collect()
}

/// The points of `name` whose attributes are exactly `want` (in any order).
pub(crate) fn matching<'a>(
    r: &'a ExportMetricsServiceRequest,
    name: &str,
    want: &[(&str, &str)],
) -> Vec<&'a NumberDataPoint> {
    let mut want: Vec<(String, String)> = want
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    want.sort();
    points(r, name)
        .into_iter()
        .filter(|p| {
            let mut have = attrs(p);
            have.sort();
            have == want
        })
        .collect()
}

/// The value of the one point of `name` whose attributes are exactly `want`.
pub(crate) fn get(r: &ExportMetricsServiceRequest, name: &str, want: &[(&str, &str)]) -> f64 {
    let found = matching(r, name, want);
    assert_eq!(
        found.len(),
        1,
        "{name} {want:?}: {:?}",
        points(r, name).iter().map(|p| attrs(p)).collect::<Vec<_>>()
    );
    value(found[0])
}

/// The values of attribute `key` over the points of `name`.
pub(crate) fn attr_values(
    r: &ExportMetricsServiceRequest,
    name: &str,
    key: &str,
) -> BTreeSet<String> {
    points(r, name)
        .iter()
        .flat_map(|p| attrs(p))
        .filter(|(k, _)| k == key)
        .map(|(_, v)| v)
        .collect()
}
