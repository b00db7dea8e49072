//! A sweep run as independent jobs (`sweep --jobs-dir`, `sweep-point`,
//! `sweep-collect`) makes the report a local sweep makes, but for each
//! point's wall-clock seconds; a failed or missing point is named with the
//! command that reruns it.
//!
//! The Slurm test starts a one-node Slurm on localhost (munged, slurmctld
//! and slurmd from Debian's `munge`, `slurmctld`, `slurmd` and
//! `slurm-client`, in a temporary folder, on free ports), submits a sweep
//! as a job array and stops the daemons after it, also when it fails. It
//! needs root (the daemons run as root) and is ignored by a plain
//! `cargo test`; CI runs it.

mod common;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The sweep of the tests: head l3h9 of the committed MiniLM trace, 8
/// queries, modelled cycles, 2 × 2 points (thresholds from the committed
/// thresholds file, then fixed ones).
const SWEEP: &[&str] = &[
    "sweep",
    "specs/minilm.yaml",
    "--trace",
    "tests/data/minilm_passage.npz",
    "--layer",
    "3",
    "--head",
    "9",
    "--queries",
    "8",
    "--param",
    "buffer_bytes=4096,16384",
    "--param",
    "threshold=-1000,0",
];

fn sprint_rtl(args: &[&str], env: &[(&str, &Path)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_sprint-rtl"));
    cmd.current_dir(common::root()).args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("run sprint-rtl")
}

fn ok(out: &Output) -> String {
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{}\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

fn path(p: &Path) -> &str {
    p.to_str().expect("a UTF-8 path")
}

/// The local sweep's report folder.
fn local_sweep(tmp: &Path, sweep: &[&str]) -> PathBuf {
    let out = tmp.join("local");
    let work = tmp.join("work");
    let mut args = sweep.to_vec();
    args.extend(["-o", path(&out), "--work-dir", path(&work)]);
    ok(&sprint_rtl(&args, &[]));
    out
}

/// Writes the jobs folder `tmp/jobs` of `sweep` with `extra` options;
/// returns the folder and what the command printed.
fn jobs_dir(
    tmp: &Path,
    sweep: &[&str],
    extra: &[&str],
    env: &[(&str, &Path)],
) -> (PathBuf, String) {
    let dir = tmp.join("jobs");
    let work = tmp.join("work");
    let mut args = sweep.to_vec();
    args.extend(["--jobs-dir", path(&dir), "--work-dir", path(&work)]);
    args.extend(extra);
    let printed = ok(&sprint_rtl(&args, env));
    (dir, printed)
}

fn job_lines(dir: &Path) -> Vec<String> {
    std::fs::read_to_string(dir.join("jobs.txt"))
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

/// Runs one line of jobs.txt as the Slurm script does, from another folder.
fn run_line(line: &str) -> Output {
    Command::new("sh")
        .args(["-c", line])
        .current_dir(std::env::temp_dir())
        .output()
        .unwrap()
}

/// sweep.json without the points' wall-clock seconds.
fn sweep_json(dir: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(dir.join("sweep.json")).unwrap();
    let mut v: serde_json::Value = serde_json::from_str(&text).unwrap();
    for p in v["points"].as_array_mut().unwrap() {
        p.as_object_mut().unwrap().remove("seconds").unwrap();
    }
    v
}

/// sweep.md with the sweep table's seconds column blanked.
fn sweep_md(dir: &Path) -> String {
    let text = std::fs::read_to_string(dir.join("sweep.md")).unwrap();
    let mut in_table = false;
    let mut lines = Vec::new();
    for line in text.lines() {
        in_table = (in_table && line.starts_with('|')) || line.ends_with("| seconds |");
        let row = in_table && !line.starts_with("|--") && !line.ends_with("| seconds |");
        lines.push(match line.trim_end_matches(" |").rsplit_once("| ") {
            Some((head, _)) if row => format!("{head}| _ |"),
            _ => line.to_string(),
        });
    }
    lines.join("\n")
}

/// The collected report equals the local one: sweep.json and sweep.md but
/// for the seconds, the `plots` byte for byte.
fn assert_same_report(local: &Path, collected: &Path, plots: &[&str]) {
    assert_eq!(sweep_json(local), sweep_json(collected));
    assert_eq!(sweep_md(local), sweep_md(collected));
    for plot in plots {
        assert_eq!(
            std::fs::read(local.join(plot)).unwrap(),
            std::fs::read(collected.join(plot)).unwrap(),
            "{plot}"
        );
    }
}

/// Runs every line of the jobs folder's jobs.txt, one by one.
fn run_all(dir: &Path) {
    for line in job_lines(dir) {
        let out = run_line(&line);
        assert!(out.status.success(), "{line}: {out:?}");
    }
}

#[test]
fn jobs_run_one_by_one_collect_into_the_local_report() {
    let tmp = tempfile::tempdir().unwrap();
    let local = local_sweep(tmp.path(), SWEEP);
    let (dir, printed) = jobs_dir(tmp.path(), SWEEP, &[], &[]);
    assert!(printed.contains("wrote 4 jobs"), "{printed}");
    assert!(!dir.join("sweep.json").exists(), "nothing measured yet");
    let lines = job_lines(&dir);
    assert_eq!(lines.len(), 4);
    let script = std::fs::read_to_string(dir.join("sweep.sbatch")).unwrap();
    assert!(script.contains("#SBATCH --array=0-3"), "{script}");
    for (k, line) in lines.iter().enumerate() {
        assert!(
            line.ends_with(&format!(" sweep-point {} {k}", dir.display())),
            "{line}"
        );
    }
    run_all(&dir);
    let collected = ok(&sprint_rtl(&["sweep-collect", path(&dir)], &[]));
    assert!(collected.contains("wrote sweep.md"), "{collected}");
    assert!(sweep_md(&local).contains("| buffer_bytes=4096 threshold=0 |"));
    assert_same_report(&local, &dir.join("report"), &["sweep_buffer_bytes.svg"]);
}

/// The jobs read the calibration trace from the plan, cut each head to the
/// point's seq_len and calibrate on it, as the local run does.
#[test]
fn a_seq_len_sweep_calibrated_on_another_trace_collects_the_same() {
    let tmp = tempfile::tempdir().unwrap();
    // A copy stands for another text: only the path is checked.
    let calibration = tmp.path().join("calibration.npz");
    std::fs::copy(
        common::root().join("tests/data/minilm_passage.npz"),
        &calibration,
    )
    .unwrap();
    let sweep = [
        "sweep",
        "specs/causal.yaml",
        "--trace",
        "tests/data/minilm_passage.npz",
        "--layer",
        "2",
        "--calibrate-on",
        path(&calibration),
        "--keep-mass",
        "0.95",
        "--queries",
        "8",
        "--query-offset",
        "last",
        "--param",
        "seq_len=32,64,128",
    ];
    let local = local_sweep(tmp.path(), &sweep);
    let (dir, _) = jobs_dir(tmp.path(), &sweep, &[], &[]);
    run_all(&dir);
    ok(&sprint_rtl(&["sweep-collect", path(&dir)], &[]));
    let json = sweep_json(&local);
    assert_eq!(json["calibration"]["keep_mass"], 0.95);
    assert_eq!(
        json["points"][2]["threshold_sources"][0],
        "calibration_trace"
    );
    assert_same_report(
        &local,
        &dir.join("report"),
        &["sweep_seq_len.svg", "scaling.svg"],
    );
}

#[test]
fn a_failed_or_missing_point_is_named_with_its_rerun_command() {
    let tmp = tempfile::tempdir().unwrap();
    let (dir, _) = jobs_dir(tmp.path(), SWEEP, &[], &[]);
    let lines = job_lines(&dir);
    // Point 1's spec is changed after the folder was written: its job fails.
    let spec1 = dir.join("points/1/spec.yaml");
    let original = std::fs::read_to_string(&spec1).unwrap();
    std::fs::write(&spec1, original.replace("bytes: 4096", "bytes: 8192")).unwrap();
    assert!(run_line(&lines[0]).status.success());
    let failed = run_line(&lines[1]);
    assert_eq!(failed.status.code(), Some(2), "{failed:?}");
    let error = std::fs::read_to_string(dir.join("points/1/error.txt")).unwrap();
    assert!(error.contains("spec hash"), "{error}");

    let out = sprint_rtl(&["sweep-collect", path(&dir)], &[]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("3 point(s)"), "{stderr}");
    assert!(
        stderr.contains("point 1 (buffer_bytes=4096 threshold=0): failed:"),
        "{stderr}"
    );
    assert!(stderr.contains("point 3 (buffer_bytes=16384 threshold=0): missing"));
    for line in &lines[1..] {
        assert!(stderr.contains(&format!("rerun: {line}")), "{stderr}");
    }
    assert!(!dir.join("report").exists(), "no report of a partial sweep");

    // Rerun alone: the failed point once its spec is restored, the missing
    // ones as they are.
    std::fs::write(&spec1, original).unwrap();
    for line in &lines[1..] {
        assert!(run_line(line).status.success());
    }
    assert!(
        !dir.join("points/1/error.txt").exists(),
        "a rerun clears it"
    );
    ok(&sprint_rtl(&["sweep-collect", path(&dir)], &[]));
}

#[test]
fn bad_jobs_folders_and_points_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let (dir, _) = jobs_dir(tmp.path(), SWEEP, &[], &[]);
    // The folder exists and is not empty: refused, left as it was.
    let mut args = SWEEP.to_vec();
    args.extend(["--jobs-dir", path(&dir)]);
    let out = sprint_rtl(&args, &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not empty"));
    assert_eq!(job_lines(&dir).len(), 4);

    let out = sprint_rtl(&["sweep-point", path(&dir), "4"], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no point 4; the sweep has points 0..4"));

    let spaced = tmp.path().join("a b");
    let mut args = SWEEP.to_vec();
    args.extend(["--jobs-dir", path(&spaced)]);
    let out = sprint_rtl(&args, &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("#SBATCH"));
    assert!(!spaced.exists());

    // A point that makes no valid spec is refused before anything is written.
    let bad = tmp.path().join("bad");
    let out = sprint_rtl(
        &[
            "sweep",
            "specs/minilm.yaml",
            "--trace",
            "tests/data/minilm_passage.npz",
            "--param",
            "lanes=3",
            "--jobs-dir",
            path(&bad),
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("recompute.lanes"));
    assert!(!bad.exists());
}

/// A port nothing listens on now.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A one-node Slurm on localhost, in a temporary folder; its daemons stop
/// when it drops.
struct LocalSlurm {
    dir: tempfile::TempDir,
    daemons: Vec<(&'static str, Child)>,
}

impl LocalSlurm {
    fn conf(&self) -> PathBuf {
        self.dir.path().join("slurm.conf")
    }

    fn start() -> LocalSlurm {
        // Slurm's client commands fail without a configuration, even for
        // their version: look for the programs on PATH instead.
        let path = std::env::var_os("PATH").unwrap_or_default();
        for tool in ["munged", "slurmctld", "slurmd", "sbatch", "sinfo"] {
            assert!(
                std::env::split_paths(&path).any(|dir| dir.join(tool).is_file()),
                "{tool} is not installed: apt-get install -y munge slurmctld slurmd slurm-client"
            );
        }
        let dir = tempfile::tempdir().unwrap();
        let mut slurm = LocalSlurm {
            dir,
            daemons: Vec::new(),
        };
        let d = slurm.dir.path().to_path_buf();
        for sub in ["state", "spool"] {
            std::fs::create_dir(d.join(sub)).unwrap();
        }
        let mut key = [0u8; 1024];
        std::io::Read::read_exact(&mut std::fs::File::open("/dev/urandom").unwrap(), &mut key)
            .unwrap();
        let key_file = d.join("munge.key");
        std::fs::write(&key_file, key).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o600)).unwrap();
        let socket = d.join("munge.socket");
        slurm.spawn(
            "munged",
            Command::new("munged").args([
                "--foreground",
                "--force",
                &format!("--socket={}", socket.display()),
                &format!("--key-file={}", key_file.display()),
                &format!("--pid-file={}", d.join("munged.pid").display()),
                &format!("--seed-file={}", d.join("munged.seed").display()),
            ]),
        );
        wait_for("munged's socket", || socket.exists());
        let host = String::from_utf8(Command::new("hostname").arg("-s").output().unwrap().stdout)
            .unwrap()
            .trim()
            .to_string();
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
        let conf = format!(
            "ClusterName=sprintrtl\n\
             SlurmctldHost={host}(127.0.0.1)\n\
             SlurmctldPort={ctld}\n\
             SlurmdPort={slurmd}\n\
             SlurmUser=root\n\
             SlurmdUser=root\n\
             AuthType=auth/munge\n\
             CredType=cred/munge\n\
             AuthInfo=socket={socket}\n\
             StateSaveLocation={d}/state\n\
             SlurmdSpoolDir={d}/spool\n\
             SlurmctldPidFile={d}/slurmctld.pid\n\
             SlurmdPidFile={d}/slurmd.pid\n\
             ProctrackType=proctrack/linuxproc\n\
             TaskPlugin=task/none\n\
             JobAcctGatherType=jobacct_gather/none\n\
             AccountingStorageType=accounting_storage/none\n\
             SelectType=select/cons_tres\n\
             SelectTypeParameters=CR_CPU\n\
             SchedulerType=sched/builtin\n\
             MpiDefault=none\n\
             ReturnToService=2\n\
             SlurmdParameters=config_overrides\n\
             MaxArraySize=3\n\
             NodeName={host} NodeAddr=127.0.0.1 CPUs={cpus} State=UNKNOWN\n\
             PartitionName=sweep Nodes={host} Default=YES MaxTime=INFINITE State=UP\n",
            ctld = free_port(),
            slurmd = free_port(),
            socket = socket.display(),
            d = d.display(),
        );
        std::fs::write(slurm.conf(), conf).unwrap();
        let conf = slurm.conf();
        slurm.spawn(
            "slurmctld",
            Command::new("slurmctld")
                .arg("-D")
                .arg("-i")
                .arg("-f")
                .arg(&conf),
        );
        slurm.spawn(
            "slurmd",
            Command::new("slurmd")
                .args(["-D", "-N", &host, "-f"])
                .arg(&conf),
        );
        wait_for("the node to be idle", || {
            let out = Command::new("sinfo")
                .args(["-h", "-o", "%t"])
                .env("SLURM_CONF", &conf)
                .output()
                .unwrap();
            String::from_utf8_lossy(&out.stdout).trim() == "idle"
        });
        slurm
    }

    fn spawn(&mut self, name: &'static str, cmd: &mut Command) {
        let log = std::fs::File::create(self.dir.path().join(format!("{name}.log"))).unwrap();
        let child = cmd
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .stdin(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        self.daemons.push((name, child));
        // Fails early, with the daemon's log, if it exited at once.
        std::thread::sleep(Duration::from_millis(300));
        let (_, child) = self.daemons.last_mut().unwrap();
        if let Some(status) = child.try_wait().unwrap() {
            panic!("{name} exited ({status}):\n{}", self.log(name));
        }
    }

    fn log(&self, name: &str) -> String {
        std::fs::read_to_string(self.dir.path().join(format!("{name}.log"))).unwrap_or_default()
    }
}

impl Drop for LocalSlurm {
    /// Stops the daemons, the last started first: SIGTERM, so that each
    /// stops its own helpers (slurmctld's slurmscriptd), then SIGKILL after
    /// 10 s.
    fn drop(&mut self) {
        while let Some((_, mut child)) = self.daemons.pop() {
            let _ = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status();
            let start = Instant::now();
            while child.try_wait().ok().flatten().is_none() {
                if start.elapsed() > Duration::from_secs(10) {
                    let _ = child.kill();
                    let _ = child.wait();
                    break;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    }
}

/// Polls `ready` every 200 ms for up to 60 s.
fn wait_for(what: &str, ready: impl Fn() -> bool) {
    let start = Instant::now();
    while !ready() {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "timed out waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
#[ignore = "needs Slurm (munge, slurmctld, slurmd, slurm-client) and root"]
fn a_sweep_submitted_to_a_local_slurm_collects_into_the_local_report() {
    let slurm = LocalSlurm::start();
    let tmp = tempfile::tempdir().unwrap();
    let local = local_sweep(tmp.path(), SWEEP);
    let conf = slurm.conf();
    let (dir, printed) = jobs_dir(
        tmp.path(),
        SWEEP,
        &["--submit", "slurm"],
        &[("SLURM_CONF", &conf)],
    );
    // MaxArraySize=3: the 4 points go as two arrays, of 3 tasks and 1.
    assert!(printed.contains("submitted Slurm job arrays"), "{printed}");
    wait_for("the job array", || {
        (0..4).all(|k| {
            let point = dir.join("points").join(k.to_string());
            point.join("result.json").exists() || point.join("error.txt").exists()
        })
    });
    let out = sprint_rtl(&["sweep-collect", path(&dir)], &[]);
    assert!(
        out.status.success(),
        "{}\nslurmctld:\n{}\nslurmd:\n{}\ntask 0:\n{}",
        String::from_utf8_lossy(&out.stderr),
        slurm.log("slurmctld"),
        slurm.log("slurmd"),
        std::fs::read_to_string(dir.join("logs/0.out")).unwrap_or_default()
    );
    assert_same_report(&local, &dir.join("report"), &["sweep_buffer_bytes.svg"]);
    let log = std::fs::read_to_string(dir.join("logs/3.out")).unwrap();
    assert!(
        log.contains("point 3 (buffer_bytes=16384 threshold=0)"),
        "{log}"
    );
}

/// A job reads its point's spec back from the spec.yaml the jobs folder
/// holds, and refuses it unless its hash is the plan's: every shipped spec
/// must come back the same.
#[test]
fn every_shipped_spec_reads_back_with_its_hash() {
    for name in common::shipped_spec_names() {
        let spec = common::spec(&name);
        let yaml = serde_yaml::to_string(&spec).unwrap();
        let back = sprint_rtl::spec::Spec::parse(&name, &yaml)
            .unwrap_or_else(|e| panic!("{name}: {e}\n{yaml}"));
        assert_eq!(back.hash(), spec.hash(), "{name}");
    }
}
