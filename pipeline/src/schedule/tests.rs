//! The scheduler's timing on tokio's paused clock: days of schedule in milliseconds.

use super::*;

type Log = Arc<Mutex<Vec<(String, Trigger, DateTime<Utc>, DateTime<Utc>)>>>;

/// Records each run (job, trigger, start, end) and takes `secs` of (virtual) time.
struct FakeRunner {
    clock: Arc<TokioClock>,
    secs: f64,
    log: Log,
}

#[async_trait]
impl Runner for FakeRunner {
    async fn run(&self, job: &JobId, trigger: Trigger) {
        let start = self.clock.now();
        if *job == JobId::Ingest("panics".into()) && self.log.lock().unwrap().is_empty() {
            self.log
                .lock()
                .unwrap()
                .push((job.to_string(), trigger, start, start));
            panic!("a bug in a job");
        }
        tokio::time::sleep(Duration::from_secs_f64(self.secs)).await;
        let end = self.clock.now();
        self.log
            .lock()
            .unwrap()
            .push((job.to_string(), trigger, start, end));
    }
}

/// A clock shared by the scheduler and its runner.
struct Shared(Arc<TokioClock>);

#[async_trait]
impl Clock for Shared {
    fn now(&self) -> DateTime<Utc> {
        self.0.now()
    }
    async fn sleep_until(&self, t: DateTime<Utc>) {
        self.0.sleep_until(t).await
    }
}

fn t(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

fn entry(job: JobId, cron: &str) -> Entry {
    Entry {
        job,
        cron: Cron::parse(cron).unwrap(),
    }
}

/// Runs `entries` from `start` until `until` (virtual), returning the stats and the runs.
async fn simulate(
    entries: Vec<Entry>,
    tz: &str,
    start: &str,
    until: &str,
    last_success: &[(JobId, &str)],
    job_secs: f64,
    grace_secs: u64,
) -> (Stats, Vec<(String, Trigger, DateTime<Utc>, DateTime<Utc>)>) {
    let clock = Arc::new(TokioClock::starting_at(t(start)));
    let log: Log = Default::default();
    let runner = FakeRunner {
        clock: clock.clone(),
        secs: job_secs,
        log: log.clone(),
    };
    let sched = Scheduler::new(
        entries,
        tz.parse().unwrap(),
        Shared(clock.clone()),
        runner,
        Duration::from_secs(grace_secs),
    );
    let last: HashMap<JobId, DateTime<Utc>> = last_success
        .iter()
        .map(|(j, s)| (j.clone(), t(s)))
        .collect();
    let stop_at = t(until);
    let stats = sched.run(&last, clock.sleep_until(stop_at)).await;
    let runs = log.lock().unwrap().clone();
    (stats, runs)
}

#[tokio::test(start_paused = true)]
async fn a_job_missed_during_downtime_runs_once_at_start() {
    let a = JobId::Ingest("a".into());
    // Down from Tuesday 00:00 to Friday 10:00: twelve six-hourly times missed.
    let (stats, runs) = simulate(
        vec![
            entry(a.clone(), "0 0 */6 * * *"),
            entry(JobId::Report, "0 0 6 * * Mon"),
        ],
        "UTC",
        "2026-11-20T10:00:00Z",
        "2026-11-20T19:00:00Z",
        &[
            (a, "2026-11-17T00:00:00Z"),
            (JobId::Report, "2026-11-16T06:00:00Z"),
        ],
        60.0,
        5,
    )
    .await;
    let got: Vec<(String, Trigger, String)> = runs
        .iter()
        .map(|(j, tr, s, _)| (j.clone(), *tr, s.to_rfc3339()))
        .collect();
    assert_eq!(
        got,
        [
            (
                "ingest a".into(),
                Trigger::CatchUp,
                "2026-11-20T10:00:00+00:00".into()
            ),
            (
                "ingest a".into(),
                Trigger::Schedule,
                "2026-11-20T12:00:00+00:00".into()
            ),
            (
                "ingest a".into(),
                Trigger::Schedule,
                "2026-11-20T18:00:00+00:00".into()
            ),
        ]
    );
    assert_eq!(
        stats,
        Stats {
            fired: 2,
            caught_up: 1,
            skipped: 0,
            abandoned: false
        }
    );
}

#[tokio::test(start_paused = true)]
async fn a_job_never_run_runs_at_start_and_an_up_to_date_one_waits() {
    let (stats, runs) = simulate(
        vec![
            entry(JobId::Ingest("new".into()), "0 0 */6 * * *"),
            entry(JobId::Report, "0 0 6 * * Mon"),
        ],
        "UTC",
        "2026-11-20T10:00:00Z",
        "2026-11-20T11:00:00Z",
        &[(JobId::Report, "2026-11-16T06:00:00Z")],
        1.0,
        5,
    )
    .await;
    assert_eq!(runs.len(), 1);
    assert_eq!(
        (runs[0].0.as_str(), runs[0].1),
        ("ingest new", Trigger::CatchUp)
    );
    assert_eq!(stats.caught_up, 1);
}

#[tokio::test(start_paused = true)]
async fn a_job_outlasting_its_interval_never_overlaps_itself() {
    let a = JobId::Ingest("slow".into());
    // Every second, each run taking 2.5 s: fires at 1, 4, 7 and 10; the rest are skipped.
    let (stats, runs) = simulate(
        vec![entry(a.clone(), "* * * * * *")],
        "UTC",
        "2026-11-20T00:00:00Z",
        "2026-11-20T00:00:10.200Z",
        &[(a, "2026-11-20T00:00:00Z")],
        2.5,
        5,
    )
    .await;
    let starts: Vec<String> = runs
        .iter()
        .map(|r| r.2.format("%S%.3f").to_string())
        .collect();
    assert_eq!(starts, ["01.000", "04.000", "07.000", "10.000"]);
    for w in runs.windows(2) {
        assert!(w[1].2 >= w[0].3, "overlap: {w:?}");
    }
    assert_eq!((stats.fired, stats.skipped), (4, 6));
    // The run started at 10 s finished inside the grace period.
    assert!(!stats.abandoned);
    assert_eq!(runs[3].3, t("2026-11-20T00:00:12.500Z"));
}

#[tokio::test(start_paused = true)]
async fn shutdown_waits_for_the_running_job_up_to_the_grace_period() {
    let a = JobId::Ingest("a".into());
    let b = JobId::Ingest("b".into());
    let entries = || {
        vec![
            entry(a.clone(), "0 * * * * *"),
            entry(b.clone(), "0 * * * * *"),
        ]
    };
    let last = [
        (a.clone(), "2026-11-20T00:00:00Z"),
        (b.clone(), "2026-11-20T00:00:00Z"),
    ];
    // Both fire at 00:01:00; a takes 20 s; the stop comes at 00:01:05.
    let (stats, runs) = simulate(
        entries(),
        "UTC",
        "2026-11-20T00:00:30Z",
        "2026-11-20T00:01:05Z",
        &last,
        20.0,
        30,
    )
    .await;
    // a finished (inside 30 s of grace); b, queued behind it, was never started.
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].0, "ingest a");
    assert!(!stats.abandoned);
    let (stats, runs) = simulate(
        entries(),
        "UTC",
        "2026-11-20T00:00:30Z",
        "2026-11-20T00:01:05Z",
        &last,
        20.0,
        3,
    )
    .await;
    assert!(stats.abandoned);
    assert!(runs.is_empty());
}

#[tokio::test(start_paused = true)]
async fn fire_times_follow_the_zone_across_a_daylight_saving_change() {
    let a = JobId::Ingest("a".into());
    // 06:00 in Amsterdam: 05:00 UTC before 2026-03-29, 04:00 UTC from then on.
    let (_, runs) = simulate(
        vec![entry(a.clone(), "0 0 6 * * *")],
        "Europe/Amsterdam",
        "2026-03-27T12:00:00Z",
        "2026-03-31T00:00:00Z",
        &[(a, "2026-03-27T05:00:00Z")],
        1.0,
        5,
    )
    .await;
    let starts: Vec<String> = runs.iter().map(|r| r.2.to_rfc3339()).collect();
    assert_eq!(
        starts,
        [
            "2026-03-28T05:00:00+00:00",
            "2026-03-29T04:00:00+00:00",
            "2026-03-30T04:00:00+00:00"
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn a_job_that_crashes_is_logged_and_the_schedule_goes_on() {
    let a = JobId::Ingest("panics".into());
    let (stats, runs) = simulate(
        vec![entry(a.clone(), "0 * * * * *")],
        "UTC",
        "2026-11-20T00:00:30Z",
        "2026-11-20T00:03:30Z",
        &[(a, "2026-11-20T00:00:00Z")],
        1.0,
        5,
    )
    .await;
    // The first run panicked; the next two ran to their end.
    assert_eq!(runs.len(), 3);
    assert_eq!(runs[0].2, runs[0].3);
    assert_eq!(runs[2].2, t("2026-11-20T00:03:00Z"));
    assert_eq!(stats.fired, 3);
}
