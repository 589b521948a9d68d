//! `/proc/<pid>/cgroup`: which container, if any, a process runs in.

use crate::util::lines;

/// The length of a full container ID: 64 lowercase hexadecimal digits.
const ID_LEN: usize = 64;

/// Runtime prefixes of a container's cgroup name: `docker-<id>.scope` (Docker with the systemd
/// cgroup driver), `cri-containerd-<id>.scope` (containerd under Kubernetes), `crio-<id>.scope`
/// (CRI-O), `libpod-<id>.scope` (Podman), `nerdctl-<id>.scope` (containerd's nerdctl).
const RUNTIME_PREFIXES: [&[u8]; 5] = [
    b"docker-",
    b"cri-containerd-",
    b"crio-",
    b"libpod-",
    b"nerdctl-",
];

/// Finds the ID of the container a process runs in from its `/proc/<pid>/cgroup`, or `None` for
/// a process of the host.
///
/// Each line is `hierarchy:controllers:path` (cgroup v1 has one line per hierarchy, v2 the single
/// line `0::path`). A path component is taken as a container ID when it is 64 lowercase hex digits
/// alone (`/docker/<id>`, `/kubepods/burstable/pod<uid>/<id>`), or behind a runtime prefix
/// with or without `.scope` (`docker-<id>.scope`, `cri-containerd-<id>.scope`, `crio-<id>.scope`,
/// `libpod-<id>.scope`, `nerdctl-<id>.scope`). Components are searched from the end, so a nested
/// container gives the innermost ID, and a component after the ID (Podman's `.../container`)
/// does not hide it. The runtime's monitor processes (`crio-conmon-<id>.scope`,
/// `libpod-conmon-<id>.scope`) run on the host and are not in the container. Lines are tried in
/// order and the first ID wins.
///
/// A process in its own cgroup namespace sees its cgroup as `/`, so reading this from inside a
/// container usually finds nothing; read the host's `/proc` instead.
pub fn container_id_from_cgroup(input: &[u8]) -> Option<String> {
    lines(input).find_map(|(_, line)| {
        let mut parts = line.splitn(3, |&b| b == b':');
        let path = parts.nth(2)?;
        path.rsplit(|&b| b == b'/').find_map(container_id)
    })
}

/// The container ID of one path component, if it names a container.
fn container_id(component: &[u8]) -> Option<String> {
    let name = component.strip_suffix(b".scope").unwrap_or(component);
    let id = if name.len() == ID_LEN {
        name
    } else {
        RUNTIME_PREFIXES
            .iter()
            .find_map(|prefix| name.strip_prefix(*prefix))?
    };
    let is_id = id.len() == ID_LEN && id.iter().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    // Only ASCII hex digits, so this never replaces anything.
    is_id.then(|| String::from_utf8_lossy(id).into_owned())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::testutil::fixture;

    const ID: &str = "3f4e9c2b1a0d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f";

    fn id_of(cgroup: &str) -> Option<String> {
        container_id_from_cgroup(cgroup.as_bytes())
    }

    #[test]
    fn debian12_fixtures_are_host_processes() {
        // The recording machine's own sandbox shows a 32-digit ID in the memory hierarchy: not a
        // container runtime's.
        let pg = fixture("proc/2204/cgroup");
        assert!(String::from_utf8_lossy(&pg).contains("4:memory:/process_api/c4d1b560"));
        assert_eq!(container_id_from_cgroup(&pg), None);
        assert_eq!(container_id_from_cgroup(&fixture("proc/2/cgroup")), None);
    }

    #[test]
    fn docker_cgroup_v1_cgroupfs_driver() {
        let cgroup = format!(
            "12:pids:/docker/{ID}\n11:hugetlb:/docker/{ID}\n10:net_cls,net_prio:/docker/{ID}\n\
             9:memory:/docker/{ID}\n8:cpu,cpuacct:/docker/{ID}\n1:name=systemd:/docker/{ID}\n\
             0::/system.slice/containerd.service\n"
        );
        assert_eq!(id_of(&cgroup).as_deref(), Some(ID));
    }

    #[test]
    fn docker_cgroup_v2_systemd_driver() {
        assert_eq!(
            id_of(&format!("0::/system.slice/docker-{ID}.scope\n")).as_deref(),
            Some(ID)
        );
        // Docker with the cgroupfs driver on cgroup v2.
        assert_eq!(id_of(&format!("0::/docker/{ID}\n")).as_deref(), Some(ID));
    }

    #[test]
    fn kubernetes_containerd_cgroup_v2_systemd() {
        let cgroup = format!(
            "0::/kubepods.slice/kubepods-burstable.slice/\
             kubepods-burstable-pod2c5b7a4e_1f0d_4c8b_9a3e_7d6f5e4c3b2a.slice/\
             cri-containerd-{ID}.scope\n"
        );
        assert_eq!(id_of(&cgroup).as_deref(), Some(ID));
    }

    #[test]
    fn kubernetes_cgroupfs_driver_v1() {
        let cgroup = format!(
            "11:memory:/kubepods/besteffort/pod2c5b7a4e-1f0d-4c8b-9a3e-7d6f5e4c3b2a/{ID}\n\
             1:name=systemd:/kubepods/besteffort/pod2c5b7a4e-1f0d-4c8b-9a3e-7d6f5e4c3b2a/{ID}\n"
        );
        assert_eq!(id_of(&cgroup).as_deref(), Some(ID));
    }

    #[test]
    fn kubernetes_with_docker_runtime() {
        let cgroup = format!(
            "0::/kubepods.slice/kubepods-pod2c5b7a4e_1f0d_4c8b_9a3e_7d6f5e4c3b2a.slice/\
             docker-{ID}.scope\n"
        );
        assert_eq!(id_of(&cgroup).as_deref(), Some(ID));
    }

    #[test]
    fn crio() {
        let cgroup = format!(
            "0::/kubepods.slice/kubepods-besteffort.slice/\
             kubepods-besteffort-pod2c5b7a4e_1f0d_4c8b_9a3e_7d6f5e4c3b2a.slice/crio-{ID}.scope\n"
        );
        assert_eq!(id_of(&cgroup).as_deref(), Some(ID));
        // CRI-O with the cgroupfs manager: no `.scope`.
        let cgroup = format!("0::/kubepods/burstable/pod2c5b7a4e/crio-{ID}\n");
        assert_eq!(id_of(&cgroup).as_deref(), Some(ID));
        // conmon, CRI-O's monitor, runs on the host next to the container.
        let cgroup = format!("0::/system.slice/crio-conmon-{ID}.scope\n");
        assert_eq!(id_of(&cgroup), None);
    }

    #[test]
    fn podman() {
        assert_eq!(
            id_of(&format!("0::/machine.slice/libpod-{ID}.scope\n")).as_deref(),
            Some(ID)
        );
        // Rootless Podman on cgroup v2: the container's processes are in a child cgroup.
        let cgroup = format!(
            "0::/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-{ID}.scope/container\n"
        );
        assert_eq!(id_of(&cgroup).as_deref(), Some(ID));
        let cgroup = format!("0::/machine.slice/libpod-conmon-{ID}.scope\n");
        assert_eq!(id_of(&cgroup), None);
        // Podman with the cgroupfs manager.
        assert_eq!(
            id_of(&format!("0::/libpod_parent/libpod-{ID}\n")).as_deref(),
            Some(ID)
        );
    }

    #[test]
    fn nerdctl_and_plain_containerd() {
        assert_eq!(
            id_of(&format!("0::/system.slice/nerdctl-{ID}.scope\n")).as_deref(),
            Some(ID)
        );
        assert_eq!(id_of(&format!("0::/default/{ID}\n")).as_deref(), Some(ID));
    }

    #[test]
    fn nested_containers_give_the_innermost() {
        let outer = ID.replace('3', "0");
        let cgroup = format!("0::/docker/{outer}/docker/{ID}\n");
        assert_eq!(id_of(&cgroup).as_deref(), Some(ID));
    }

    #[test]
    fn host_processes() {
        for cgroup in [
            "0::/\n",
            "0::/init.scope\n",
            "0::/user.slice/user-1000.slice/session-3.scope\n",
            "0::/user.slice/user-1000.slice/user@1000.service/app.slice/app-gnome-firefox-4242.scope\n",
            "0::/system.slice/nginx.service\n",
            "0::/system.slice/docker.service\n",
            "0::/system.slice/containerd.service\n",
            "12:pids:/\n11:memory:/user.slice\n1:name=systemd:/user.slice/user-0.slice/session-1.scope\n",
            "",
            "\n",
        ] {
            assert_eq!(id_of(cgroup), None, "{cgroup}");
        }
    }

    #[test]
    fn near_misses() {
        let upper = ID.to_uppercase();
        let short = &ID[1..];
        let long = format!("{ID}0");
        let not_hex = ID.replacen('3', "g", 1);
        for cgroup in [
            format!("0::/docker/{upper}\n"),
            format!("0::/docker/{short}\n"),
            format!("0::/docker/{long}\n"),
            format!("0::/docker/{not_hex}\n"),
            format!("0::/system.slice/docker-{short}.scope\n"),
            format!("0::/system.slice/podman-{ID}.scope\n"),
            format!("0::/system.slice/docker_{ID}.scope\n"),
            // No path field.
            format!("0:{ID}\n"),
        ] {
            assert_eq!(id_of(&cgroup), None, "{cgroup}");
        }
        // A colon inside the path does not end it.
        assert_eq!(id_of(&format!("0::/a:b/{ID}\n")).as_deref(), Some(ID));
        // Non-UTF-8 bytes elsewhere on the line.
        let mut input = b"0::/\xff\xfe/docker-".to_vec();
        input.extend_from_slice(ID.as_bytes());
        input.extend_from_slice(b".scope\n");
        assert_eq!(container_id_from_cgroup(&input).as_deref(), Some(ID));
    }
}
