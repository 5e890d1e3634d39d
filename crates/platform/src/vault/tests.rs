//! Tests of the parent module.
use super::*;

#[test]
fn sm4_standard_vector() {
    // GB/T 32907-2016 appendix A, example 1: one block, key = plaintext.
    use sm4::cipher::{BlockEncrypt, KeyInit};
    let key = hex::decode("0123456789abcdeffedcba9876543210").unwrap();
    let cipher = sm4::Sm4::new_from_slice(&key).unwrap();
    let mut block = sm4::cipher::generic_array::GenericArray::clone_from_slice(&key);
    cipher.encrypt_block(&mut block);
    assert_eq!(hex::encode(block), "681edf34d206965e86b3e94f536e4246");
}

#[test]
fn round_trip_and_tamper_detection() {
    let k = Keys::for_tests();
    let c1 = k.encrypt("32020219900307123X").unwrap();
    let c2 = k.encrypt("32020219900307123X").unwrap();
    assert_ne!(c1, c2, "a fresh IV each time");
    assert!(c1.starts_with("sm4:t1:"));
    assert!(!c1.contains("320202"));
    assert_eq!(k.decrypt(&c1).unwrap(), "32020219900307123X");
    let mut bad = c1.clone();
    let last = bad.pop().unwrap();
    bad.push(if last == '0' { '1' } else { '0' });
    assert!(matches!(k.decrypt(&bad), Err(VaultError::Damaged)));
    assert_eq!(k.decrypt("plain").unwrap(), "plain");
    assert_eq!(
        k.blind("phone", "13912345678"),
        k.blind("phone", "13912345678")
    );
    assert_ne!(
        k.blind("phone", "13912345678"),
        k.blind("id", "13912345678")
    );
}

#[test]
fn sm2_standard_vector() {
    // GM/T 0003.5-2012 / GB/T 32918.5 Annex A on the recommended curve: private key d,
    // its public key, ID "1234567812345678", message "message digest", and (r, s).
    use sm2::dsa::signature::Verifier;
    let d =
        hex::decode("3945208F7B2144B13F36E38AC6D39F95889393692860B51A42FB81EF4DF7C5B8").unwrap();
    let public = "0409F9DF311E5421A150DD7D161E4BC5C672179FAD1833FC076BB08FF356F35020\
                  CCEA490CE26775A52DC6EA718CC1AA600AED05FBF35E084A6632F6072DA9AD13";
    let sk = sm2::dsa::SigningKey::from_slice(SM2_DISTID, &d).unwrap();
    assert_eq!(
        hex::encode_upper(sk.verifying_key().to_sec1_bytes()),
        public,
        "d·G is the published public key"
    );
    let sig = hex::decode(
        "F5A03B0648D2C4630EEAC513E1BB81A15944DA3827D5B74143AC7EACEEE720B3\
         B1B6AA29DF212FD8763182BC0D421CA1BB9038FD1F7F42D4840B69C485BBC1AA",
    )
    .unwrap();
    let sig = sm2::dsa::Signature::try_from(sig.as_slice()).unwrap();
    assert!(sk.verifying_key().verify(b"message digest", &sig).is_ok());
    assert!(sk.verifying_key().verify(b"message digesT", &sig).is_err());
    let other_id = sm2::dsa::VerifyingKey::from_sec1_bytes(
        "ALICE123@YAHOO.COM",
        &hex::decode(public).unwrap(),
    )
    .unwrap();
    assert!(
        other_id.verify(b"message digest", &sig).is_err(),
        "the ID is part of what is signed"
    );
}

#[test]
fn sm2_verifies_an_openssl_signature() {
    // Known answer from an independent implementation: OpenSSL `pkeyutl -sign -digest sm3
    // -pkeyopt distid:example@rustcrypto.org` over "testing" (vector published with the
    // RustCrypto sm2 crate's tests).
    use sm2::dsa::signature::Verifier;
    let pk = hex::decode("0408D77AE04C01CC4C1104360DD8AF6B6F7DF334283D7C1A6AFD5652407B87BEE5014E2A57C36C150D16324DC664E31E6432359609C4E79847A5B161C8C7364C8A").unwrap();
    let sig = hex::decode("d1dcccedd9fb785e0f67c16b7c52901625c0b69de9bca2144acc7be713cad2fcf7d1eae6e3a157b36c65f672f738ca8b46298bf149a6510072c431b49cd88b1c").unwrap();
    let vk = sm2::dsa::VerifyingKey::from_sec1_bytes("example@rustcrypto.org", &pk).unwrap();
    let sig = sm2::dsa::Signature::try_from(sig.as_slice()).unwrap();
    assert!(vk.verify(b"testing", &sig).is_ok());
    assert!(vk.verify(b"testinG", &sig).is_err());
}

#[test]
fn deployment_key_signs_and_publishes() {
    use sm2::dsa::signature::Verifier;
    let mut k = Keys::generate();
    assert!(k.public_keys().is_empty());
    assert!(k.init_signing());
    assert!(!k.init_signing(), "init keeps an existing key");
    let (id, sig_hex) = k.sign(b"e-certificate").unwrap();
    let pubs = k.public_keys();
    assert_eq!(pubs[0].id, id);
    assert_eq!(id, sm2_key_id(&pubs[0].public_key));
    assert!(id.starts_with("sm2-") && id.len() == 20, "{id}");
    let vk = sm2::dsa::VerifyingKey::from_sec1_bytes(
        SM2_DISTID,
        &hex::decode(&pubs[0].public_key).unwrap(),
    )
    .unwrap();
    let sig = sm2::dsa::Signature::try_from(hex::decode(sig_hex).unwrap().as_slice()).unwrap();
    assert!(vk.verify(b"e-certificate", &sig).is_ok());
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("k.toml");
    k.save(&p).unwrap();
    assert_eq!(
        Keys::load(&p).unwrap().public_keys()[0].public_key,
        pubs[0].public_key
    );
}

#[test]
fn files_round_trip_and_tamper_detection() {
    let k = Keys::for_tests();
    let pdf = b"%PDF-1.4 id card".to_vec();
    let sealed = k.encrypt_bytes(&pdf).unwrap();
    assert_eq!(Keys::file_key(&sealed), Some("t1"));
    assert!(!sealed.windows(8).any(|w| w == b"id card "), "no plaintext");
    assert_eq!(k.decrypt_bytes(&sealed).unwrap(), pdf);
    let mut bad = sealed.clone();
    let last = bad.len() - 1;
    bad[last] ^= 1;
    assert!(matches!(k.decrypt_bytes(&bad), Err(VaultError::Damaged)));
    assert_eq!(
        k.decrypt_bytes(&pdf).unwrap(),
        pdf,
        "a file in clear reads as it is"
    );
    assert!(k.decrypt_bytes(b"TBS1\x05t1").is_err(), "truncated");
}

#[test]
fn rotation_keeps_old_data_readable() {
    let mut k = Keys::for_tests();
    let old = k.encrypt("张三").unwrap();
    let id = k.rotate();
    assert_eq!(k.current, id);
    let new = k.encrypt("张三").unwrap();
    assert_eq!(Keys::key_of(&new), Some(id.as_str()));
    assert_eq!(k.decrypt(&old).unwrap(), "张三");
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("keys.toml");
    k.save(&p).unwrap();
    let back = Keys::load(&p).unwrap();
    assert_eq!(back.decrypt(&new).unwrap(), "张三");
    assert_eq!(back.blind("x", "y"), k.blind("x", "y"));
}
