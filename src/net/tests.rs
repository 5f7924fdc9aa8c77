//! Client construction from settings: the CA bundle, the AWS requirement, the settings it validates.

use std::collections::BTreeMap;

use super::*;
use crate::settings::{resolve, Inputs};

fn settings(pairs: &[(&str, &str)]) -> Settings {
    let env: BTreeMap<String, String> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    resolve::resolve(Inputs {
        env,
        ..Inputs::default()
    })
    .expect("settings resolve")
}

/// A freshly made CA certificate, in PEM.
fn ca_pem() -> String {
    let key = rcgen::KeyPair::generate().expect("key");
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("params");
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    params.self_signed(&key).expect("self-signed").pem()
}

#[test]
fn the_default_client_builds() {
    let client = client(&settings(&[])).expect("client");
    assert_eq!(client.timeouts(), Timeouts::default());
    assert!(client.aws_backing().is_none());
    assert!(USER_AGENT.starts_with("thoth/"));
}

#[test]
fn a_bad_ca_bundle_is_an_error_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.pem");
    let err = client(&settings(&[(
        "THOTH_TLS_CA_BUNDLE",
        missing.to_str().unwrap(),
    )]))
    .unwrap_err();
    assert!(matches!(err, Error::CaBundleRead { .. }), "{err}");
    assert!(err.to_string().contains("missing.pem"), "{err}");
    assert!(err.hint().unwrap().contains("THOTH_TLS_CA_BUNDLE"));

    let empty = dir.path().join("empty.pem");
    std::fs::write(&empty, "not a certificate\n").unwrap();
    let err = client(&settings(&[(
        "THOTH_TLS_CA_BUNDLE",
        empty.to_str().unwrap(),
    )]))
    .unwrap_err();
    assert!(matches!(err, Error::CaBundle { .. }), "{err}");
    assert!(err.to_string().contains("empty.pem"), "{err}");

    let broken = dir.path().join("broken.pem");
    std::fs::write(
        &broken,
        "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
    )
    .unwrap();
    let err = client(&settings(&[(
        "THOTH_TLS_CA_BUNDLE",
        broken.to_str().unwrap(),
    )]))
    .unwrap_err();
    assert!(
        err.to_string().contains("broken.pem") && err.to_string().contains("certificate 1"),
        "{err}"
    );
}

#[test]
fn a_ca_bundle_of_several_certificates_is_trusted() {
    let dir = tempfile::tempdir().unwrap();
    let bundle = dir.path().join("bundle.pem");
    std::fs::write(&bundle, format!("# comment\n{}{}", ca_pem(), ca_pem())).unwrap();
    client(&settings(&[(
        "THOTH_TLS_CA_BUNDLE",
        bundle.to_str().unwrap(),
    )]))
    .expect("client");
}

#[test]
fn aws_backed_certificates_need_both_arns() {
    let err = client(&settings(&[("THOTH_TLS_REQUIRE_AWS_BACKED_CERTS", "true")])).unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("THOTH_TLS_AWS_ACM_CERT_ARN")
            && text.contains("THOTH_TLS_AWS_PRIVATE_CA_ARN"),
        "{text}"
    );
    let err = client(&settings(&[
        ("THOTH_TLS_REQUIRE_AWS_BACKED_CERTS", "true"),
        (
            "THOTH_TLS_AWS_ACM_CERT_ARN",
            "arn:aws:acm:us-east-1:1:certificate/x",
        ),
    ]))
    .unwrap_err();
    assert!(
        matches!(&err, Error::AwsArnsMissing { missing } if missing == &["THOTH_TLS_AWS_PRIVATE_CA_ARN"]),
        "{err}"
    );
    let client = client(&settings(&[
        ("THOTH_TLS_REQUIRE_AWS_BACKED_CERTS", "true"),
        (
            "THOTH_TLS_AWS_ACM_CERT_ARN",
            "arn:aws:acm:us-east-1:1:certificate/x",
        ),
        (
            "THOTH_TLS_AWS_PRIVATE_CA_ARN",
            "arn:aws:acm-pca:us-east-1:1:certificate-authority/y",
        ),
    ]))
    .expect("client");
    assert_eq!(
        client.aws_backing().map(|a| a.private_ca_arn.as_str()),
        Some("arn:aws:acm-pca:us-east-1:1:certificate-authority/y")
    );
}

#[test]
fn verification_can_be_turned_off_in_dev() {
    client(&settings(&[
        ("THOTH_ENV", "dev"),
        ("THOTH_TLS_VERIFY", "false"),
    ]))
    .expect("client");
}
