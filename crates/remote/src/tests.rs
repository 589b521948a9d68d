#![allow(clippy::unwrap_used)]
use super::*;

const CONFIG: &[u8] =
    b"sources:\n  host: {type: host_metrics}\nsinks:\n  p: {type: prometheus, inputs: [host]}\n";
const NOW: u64 = 1_800_000_000;

fn claims(version: u64) -> Claims {
    Claims {
        version,
        issued_at: NOW - 60,
        expires_at: NOW + 3600,
        hosts: vec!["web-*".into(), "db-01".into()],
    }
}

fn cx(trusted: &[PublicKey]) -> Context<'_> {
    Context {
        trusted,
        host: "web-07",
        running_version: 4,
        now: NOW,
        skew: 300,
    }
}

#[test]
fn both_algorithms_sign_and_verify_and_every_refusal_has_its_reason() {
    for alg in [Algorithm::EcdsaP256, Algorithm::Ed25519] {
        let (key, public) = generate("ops-1", alg).unwrap();
        let (_, stranger) = generate("ops-1", alg).unwrap(); // same id, another key
        let trusted = vec![public.clone()];
        let doc = serde_json::to_vec(&sign(CONFIG, &claims(5), &key).unwrap()).unwrap();
        let ok = verify(CONFIG, Some(&doc), &cx(&trusted)).unwrap();
        assert_eq!((ok.version, ok.key_id.as_str()), (5, "ops-1"));

        let reason = |config: &[u8], doc: Option<&[u8]>, cx: &Context<'_>| {
            verify(config, doc, cx).unwrap_err().code()
        };
        // unsigned, malformed
        assert_eq!(reason(CONFIG, None, &cx(&trusted)), "unsigned");
        assert_eq!(
            reason(CONFIG, Some(b"{not json"), &cx(&trusted)),
            "malformed"
        );
        // tampered: one byte of the configuration, or a claim
        let mut tampered = CONFIG.to_vec();
        tampered[10] ^= 1;
        assert_eq!(
            reason(&tampered, Some(&doc), &cx(&trusted)),
            "bad_signature"
        );
        let mut s: Signature = serde_json::from_slice(&doc).unwrap();
        s.expires_at += 86400;
        assert_eq!(
            reason(
                CONFIG,
                Some(&serde_json::to_vec(&s).unwrap()),
                &cx(&trusted)
            ),
            "bad_signature"
        );
        let mut s: Signature = serde_json::from_slice(&doc).unwrap();
        s.hosts = vec!["*".into()];
        assert_eq!(
            reason(
                CONFIG,
                Some(&serde_json::to_vec(&s).unwrap()),
                &cx(&trusted)
            ),
            "bad_signature"
        );
        // a key the agent does not trust, or another key under a trusted id
        let (other, _) = generate("someone", alg).unwrap();
        let foreign = serde_json::to_vec(&sign(CONFIG, &claims(5), &other).unwrap()).unwrap();
        assert_eq!(reason(CONFIG, Some(&foreign), &cx(&trusted)), "unknown_key");
        assert_eq!(
            reason(CONFIG, Some(&doc), &cx(&[stranger])),
            "bad_signature"
        );
        // expired, not yet valid
        let mut later = cx(&trusted);
        later.now = NOW + 3600;
        assert_eq!(reason(CONFIG, Some(&doc), &later), "expired");
        let mut c = claims(5);
        c.issued_at = NOW + 3000;
        let future = serde_json::to_vec(&sign(CONFIG, &c, &key).unwrap()).unwrap();
        assert_eq!(
            reason(CONFIG, Some(&future), &cx(&trusted)),
            "not_yet_valid"
        );
        // another host
        let mut there = cx(&trusted);
        there.host = "db-02";
        assert_eq!(reason(CONFIG, Some(&doc), &there), "wrong_host");
        there.host = "DB-01";
        assert!(
            verify(CONFIG, Some(&doc), &there).is_ok(),
            "host names compare without case"
        );
        // an older or the same version: a replay
        let old = serde_json::to_vec(&sign(CONFIG, &claims(4), &key).unwrap()).unwrap();
        assert_eq!(reason(CONFIG, Some(&old), &cx(&trusted)), "older_version");
        let msg = verify(CONFIG, Some(&old), &cx(&trusted))
            .unwrap_err()
            .to_string();
        assert!(
            msg.contains("version 4") && msg.contains("running version 4"),
            "{msg}"
        );
    }
}

#[test]
fn a_key_rotates_by_trusting_the_new_id_then_dropping_the_old() {
    let (old, old_pub) = generate("ops-2026a", Algorithm::EcdsaP256).unwrap();
    let (new, new_pub) = generate("ops-2026b", Algorithm::Ed25519).unwrap();
    let both = vec![old_pub.clone(), new_pub.clone()];
    let by_old = serde_json::to_vec(&sign(CONFIG, &claims(5), &old).unwrap()).unwrap();
    let by_new = serde_json::to_vec(&sign(CONFIG, &claims(6), &new).unwrap()).unwrap();
    assert!(verify(CONFIG, Some(&by_old), &cx(&both)).is_ok());
    assert!(verify(CONFIG, Some(&by_new), &cx(&both)).is_ok());
    let only_new = vec![new_pub];
    assert_eq!(
        verify(CONFIG, Some(&by_old), &cx(&only_new))
            .unwrap_err()
            .code(),
        "unknown_key"
    );
    assert!(verify(CONFIG, Some(&by_new), &cx(&only_new)).is_ok());
}

#[test]
fn keys_survive_serialization_and_bad_ids_or_claims_are_refused() {
    let (key, public) = generate("k.1", Algorithm::Ed25519).unwrap();
    let text = serde_json::to_string(&key).unwrap();
    let back: PrivateKey = serde_json::from_str(&text).unwrap();
    assert_eq!(public_of(&back).unwrap(), public);
    assert!(
        !format!("{key:?}").contains(&key.pkcs8),
        "a private key never prints"
    );
    assert!(generate("bad id", Algorithm::Ed25519).is_err());
    let mut c = claims(1);
    c.expires_at = c.issued_at;
    assert!(sign(CONFIG, &c, &key).is_err());
    assert!(
        host_matches("web-*", "WEB-1")
            && !host_matches("web-?", "web-10")
            && host_matches("*", "x")
    );
    assert_eq!(Algorithm::parse("ECDSA-P256"), Some(Algorithm::EcdsaP256));
    assert_eq!(Algorithm::parse("ed25519"), Some(Algorithm::Ed25519));
    assert_eq!(Algorithm::parse("rsa"), None);
}

/// Random bytes as a signature document and as an OpAMP message (a deterministic stand-in for
/// the `remote` fuzz target, which needs nightly): an error, never a panic.
#[test]
fn random_signature_documents_and_opamp_messages_never_panic() {
    use prost::Message;
    let (key, public) = generate("k", Algorithm::Ed25519).unwrap();
    let good = serde_json::to_vec(&sign(CONFIG, &claims(5), &key).unwrap()).unwrap();
    let server = crate::opamp::ServerToAgent {
        instance_uid: vec![1; 16],
        custom_message: Some(crate::opamp::CustomMessage {
            capability: "x".into(),
            r#type: "y".into(),
            data: good.clone(),
        }),
        ..Default::default()
    }
    .encode_to_vec();
    let trusted = vec![public];
    let mut seed: u64 = 0x0ddba11;
    let mut next = move |n: usize| {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((seed >> 33) as usize) % n.max(1)
    };
    for round in 0..3000 {
        let mut b = if round % 2 == 0 {
            good.clone()
        } else {
            server.clone()
        };
        for _ in 0..1 + next(6) {
            let at = next(b.len());
            match next(3) {
                0 => b[at] = next(256) as u8,
                1 => {
                    b.remove(at);
                }
                _ => b.insert(at, next(256) as u8),
            }
        }
        let _ = verify(CONFIG, Some(&b), &cx(&trusted));
        if let Ok(m) = crate::opamp::ServerToAgent::decode(b.as_slice()) {
            let _ = m.remote_config.as_ref().and_then(|r| r.body());
        }
    }
}
