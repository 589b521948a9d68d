//! Feeds arbitrary bytes to the /proc parsers of `lookout-proc`; the first byte picks the parser.
//! A parser may reject the input but must never panic.
//!
//! Run with `cargo +nightly fuzz run proc_parsers` from the repository root.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, input)) = data.split_first() else {
        return;
    };
    match selector % 16 {
        0 => drop(lookout_proc::parse_stat(input)),
        1 => drop(lookout_proc::parse_meminfo(input)),
        2 => drop(lookout_proc::parse_loadavg(input)),
        3 => drop(lookout_proc::parse_uptime(input)),
        4 => drop(lookout_proc::parse_vmstat(input)),
        5 => drop(lookout_proc::parse_diskstats(input)),
        6 => drop(lookout_proc::parse_net_dev(input)),
        7 => drop(lookout_proc::parse_tcp_states(input)),
        8 => drop(lookout_proc::parse_socket_count(input)),
        9 => drop(lookout_proc::parse_mountinfo(input)),
        10 => drop(lookout_proc::parse_pid_stat(input)),
        11 => drop(lookout_proc::parse_pid_state(input)),
        12 => drop(lookout_proc::parse_pid_status(input)),
        13 => drop(lookout_proc::parse_pid_io(input)),
        14 => drop(lookout_proc::container_id_from_cgroup(input)),
        _ => {
            // The next byte is the length limit, so short limits and cuts inside characters
            // are tried as often as long ones.
            let Some((&max_len, input)) = input.split_first() else {
                return;
            };
            let max_len = usize::from(max_len);
            let mut out = String::new();
            let cut = lookout_proc::parse_cmdline(input, max_len, &mut out);
            assert!(out.len() <= max_len);
            let mut whole = String::new();
            assert!(!lookout_proc::parse_cmdline(input, usize::MAX, &mut whole));
            assert!(whole.starts_with(&out));
            assert_eq!(cut, whole.len() > max_len);
        }
    }
});
