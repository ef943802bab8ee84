//! Unit tests of the fault grammar and the decision per request.

use super::*;

fn faults() -> Faults {
    Faults::new(ServerKind::Dropbox, 7, Arc::new(|| {}))
}

#[test]
fn grammar_round_trips() {
    let rule: FaultRule = "route=/2/files/upload,status=503,nth=2".parse().unwrap();
    assert_eq!(rule, FaultRule::status("/2/files/upload", 503).with_nth(2));
    assert_eq!(rule.to_string().parse::<FaultRule>().unwrap(), rule);
    let rule: FaultRule = "reset,every=3,count=2".parse().unwrap();
    assert_eq!(rule, FaultRule::reset("*").with_every(3).with_count(2));
    assert!("route=*".parse::<FaultRule>().is_err(), "no action");
    assert!(
        "status=503,reset".parse::<FaultRule>().is_err(),
        "two actions"
    );
    assert!("status=503,rate=2".parse::<FaultRule>().is_err());
    assert!("status=503,colour=red".parse::<FaultRule>().is_err());
    assert!("status=500,retry_after=3".parse::<FaultRule>().is_err());
}

#[test]
fn lose_grammar() {
    let rule: FaultRule = "route=/2/files/upload,lose=504,nth=1".parse().unwrap();
    assert_eq!(
        rule,
        FaultRule::lose("/2/files/upload", LostAnswer::Status(504)).with_nth(1)
    );
    assert_eq!(rule.to_string().parse::<FaultRule>().unwrap(), rule);
    let rule: FaultRule = "lose=stall,hold=250".parse().unwrap();
    assert_eq!(
        rule,
        FaultRule::lose("*", LostAnswer::Stall).with_hold(Duration::from_millis(250))
    );
    assert_eq!(rule.to_string(), "route=*,lose=stall,hold=250");
    assert!("lose=404".parse::<FaultRule>().is_err(), "5xx only");
    assert!("lose=later".parse::<FaultRule>().is_err());
    assert!(
        "lose=reset,hold=5".parse::<FaultRule>().is_err(),
        "hold needs stall"
    );
    assert!(
        "lose=502,status=502".parse::<FaultRule>().is_err(),
        "two actions"
    );
    let json: FaultRule = serde_json::from_str(r#"{"lose": 502, "count": 2}"#).unwrap();
    assert_eq!(
        json,
        FaultRule::lose("*", LostAnswer::Status(502)).with_count(2)
    );
    let json: FaultRule = serde_json::from_str(r#"{"lose": "reset"}"#).unwrap();
    assert_eq!(json.lose, Some(LostAnswer::Reset));
    assert_eq!(serde_json::to_value(&json).unwrap()["lose"], "reset");
    assert!(serde_json::from_str::<FaultRule>(r#"{"lose": 404}"#).is_err());
}

#[tokio::test]
async fn lost_answers_are_counted_per_rule_and_in_all() {
    let f = faults();
    let id = f
        .add(FaultRule::lose("/w", LostAnswer::Reset).with_nth(1))
        .unwrap();
    match f.decide("/w").answer {
        Some(Injected::Lost { rule, how, .. }) => {
            assert_eq!((rule, how), (id, LostAnswer::Reset));
        }
        other => panic!("expected a lost answer, got {other:?}"),
    }
    assert!(f.decide("/w").answer.is_none());
    f.answer_lost(id);
    f.wait_lost(1).await;
    assert_eq!(f.lost_answers(), 1);
    let listed = f.list();
    assert_eq!(listed["lost"], 1);
    assert_eq!(listed["rules"][0]["lost"], 1);
    assert_eq!(listed["rules"][0]["fired"], 1);
}

#[test]
fn json_form_uses_the_same_keys() {
    let rule: FaultRule =
        serde_json::from_str(r#"{"route":"/2/files/*","retry_after":5,"count":1}"#).unwrap();
    assert_eq!(rule, FaultRule::rate_limited("/2/files/*", 5).with_count(1));
    assert!(serde_json::from_str::<FaultRule>(r#"{"bogus":1}"#).is_err());
}

#[test]
fn selectors() {
    let exact = FaultRule::reset("/2/files/upload");
    assert!(exact.matches("/2/files/upload"));
    assert!(!exact.matches("/2/files/upload_session/start"));
    let prefix = FaultRule::reset("/2/files/*");
    assert!(prefix.matches("/2/files/upload_session/start"));
    assert!(!prefix.matches("/2/sharing/list_shared_links"));
    let cs = FaultRule::reset("/api/v2/nodes/{id}");
    assert!(cs.matches("GET /api/v2/nodes/{id}"));
    assert!(cs.matches("DELETE /api/v2/nodes/{id}"));
    assert!(FaultRule::reset("POST /api/*").matches("POST /api/v1/auth"));
    assert!(!FaultRule::reset("POST /api/v1/auth").matches("GET /api/v1/auth"));
}

#[test]
fn nth_fires_once_every_repeats_and_count_limits() {
    let f = faults();
    f.add(FaultRule::status("/a", 503).with_nth(2)).unwrap();
    let hits: Vec<bool> = (0..5).map(|_| f.decide("/a").answer.is_some()).collect();
    assert_eq!(hits, [false, true, false, false, false]);

    let f = faults();
    f.add(FaultRule::status("/a", 503).with_every(2).with_count(2))
        .unwrap();
    let hits: Vec<bool> = (0..8).map(|_| f.decide("/a").answer.is_some()).collect();
    assert_eq!(hits, [false, true, false, true, false, false, false, false]);

    let f = faults();
    f.add(FaultRule::reset("*").with_nth(2).with_every(3))
        .unwrap();
    let hits: Vec<bool> = (0..9).map(|_| f.decide("/x").answer.is_some()).collect();
    assert_eq!(
        hits,
        [false, true, false, false, true, false, false, true, false]
    );
}

#[test]
fn rates_are_deterministic_under_the_seed_and_clear_replays() {
    let run =
        |f: &Faults| -> Vec<bool> { (0..64).map(|_| f.decide("/r").answer.is_some()).collect() };
    let a = faults();
    a.add(FaultRule::status("*", 500).with_rate(0.5)).unwrap();
    let b = faults();
    b.add(FaultRule::status("*", 500).with_rate(0.5)).unwrap();
    let first = run(&a);
    assert_eq!(first, run(&b));
    assert!(first.iter().any(|x| *x) && first.iter().any(|x| !*x));
    a.clear();
    a.add(FaultRule::status("*", 500).with_rate(0.5)).unwrap();
    assert_eq!(run(&a), first);
}

#[test]
fn latencies_add_up_and_first_answer_wins() {
    let f = faults();
    f.add(FaultRule::latency("*", Duration::from_millis(5)))
        .unwrap();
    f.add(FaultRule::latency("/a", Duration::from_millis(7)))
        .unwrap();
    f.add(FaultRule::rate_limited("/a", 3)).unwrap();
    let second = f.add(FaultRule::status("/a", 500)).unwrap();
    let d = f.decide("/a");
    assert_eq!(d.latency, Duration::from_millis(12));
    assert_eq!(
        d.answer,
        Some(Injected::Status {
            status: 429,
            retry_after: Some(3)
        })
    );
    let listed = f.list();
    let rule = listed["rules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == second)
        .unwrap();
    assert_eq!(rule["fired"], 0);
    assert_eq!(rule["matched"], 1);
    assert!(f.remove(second));
    assert!(!f.remove(second));
}
