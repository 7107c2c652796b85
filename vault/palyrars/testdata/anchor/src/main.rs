//! palyra-anchor: seal one secret exactly as the Rust Palyra's
//! palyra-vault crate does, and write it as a legacy object file.
//!
//!     palyra-anchor CA_KEY_PEM_FILE OBJECTS_DIR SCOPE KEY < value
//!
//! Writes OBJECTS_DIR/<object id> (the envelope's JSON) and prints the
//! object id. Each step names the crate's source it follows
//! (tomasmarekk/Palyra, crates/palyra-vault/src).

use std::io::Read;

use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, CHACHA20_POLY1305};
use ring::rand::{SecureRandom, SystemRandom};
use sha2::{Digest, Sha256};

// crypto.rs:13-15.
const KEY_DERIVATION_SALT: &[u8] = b"palyra.vault.kek.v1";
const KEY_DERIVATION_INFO: &[u8] = b"envelope:kek";
const AAD_PREFIX: &str = "palyra.vault.v1";

// crypto.rs:80-87 derive_kek_from_seed_material.
fn derive_kek(seed: &[u8]) -> [u8; 32] {
    let seed_hash = Sha256::digest(seed);
    let hkdf = hkdf::Hkdf::<Sha256>::new(Some(KEY_DERIVATION_SALT), seed_hash.as_slice());
    let mut out = [0_u8; 32];
    hkdf.expand(KEY_DERIVATION_INFO, &mut out).expect("hkdf expand");
    out
}

// crypto.rs:115-122 object_id_for.
fn object_id(scope: &str, key: &str) -> String {
    let mut h = Sha256::new();
    h.update(b"palyra.vault.object.v1");
    h.update(scope.as_bytes());
    h.update([0_u8]);
    h.update(key.as_bytes());
    let sum = h.finalize();
    let mut s = String::from("obj_");
    for b in sum.iter() {
        s.push_str(&format!("{:02x}", b));
    }
    s
}

// envelope.rs:90-107 seal_with_key.
fn seal_with_key(rng: &SystemRandom, key: &[u8; 32], plain: &[u8], aad: &[u8]) -> ([u8; 12], Vec<u8>, [u8; 16]) {
    let key = LessSafeKey::new(UnboundKey::new(&CHACHA20_POLY1305, key).expect("aead key"));
    let mut nonce = [0_u8; 12];
    rng.fill(&mut nonce).expect("random nonce");
    let mut in_out = plain.to_vec();
    let tag = key
        .seal_in_place_separate_tag(Nonce::assume_unique_for_key(nonce), Aad::from(aad), &mut in_out)
        .expect("seal");
    let mut mac = [0_u8; 16];
    mac.copy_from_slice(tag.as_ref());
    (nonce, in_out, mac)
}

fn b64(b: &[u8]) -> String {
    base64::encode_config(b, base64::STANDARD_NO_PAD) // envelope.rs:2 STANDARD_NO_PAD
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 5 {
        eprintln!("usage: palyra-anchor CA_KEY_PEM_FILE OBJECTS_DIR SCOPE KEY < value");
        std::process::exit(2);
    }
    let seed = std::fs::read(&args[1]).expect("reading the CA key");
    let (scope, key) = (args[3].as_str(), args[4].as_str());
    let mut value = Vec::new();
    std::io::stdin().read_to_end(&mut value).expect("reading the value");

    let kek = derive_kek(&seed);
    // crypto.rs:89-91 build_aad.
    let aad = format!("{AAD_PREFIX}|{scope}|{key}").into_bytes();
    // envelope.rs:26-47 seal: a random DEK, the value under it, the DEK
    // under the KEK.
    let rng = SystemRandom::new();
    let mut dek = [0_u8; 32];
    rng.fill(&mut dek).expect("random dek");
    let (sn, sc, sm) = seal_with_key(&rng, &dek, &value, &aad);
    let (dn, dc, dm) = seal_with_key(&rng, &kek, &dek, &aad);
    // envelope.rs:13-24 EnvelopePayload as serde_json::to_vec writes it
    // (api.rs:139): fields in declaration order, no spaces; base64 needs
    // no JSON escaping.
    let json = format!(
        "{{\"version\":1,\"algorithm\":\"chacha20_poly1305\",\"aad_b64\":\"{}\",\"secret_nonce_b64\":\"{}\",\"secret_ciphertext_b64\":\"{}\",\"secret_mac_b64\":\"{}\",\"dek_nonce_b64\":\"{}\",\"dek_ciphertext_b64\":\"{}\",\"dek_mac_b64\":\"{}\"}}",
        b64(&aad), b64(&sn), b64(&sc), b64(&sm), b64(&dn), b64(&dc), b64(&dm)
    );
    let id = object_id(scope, key);
    std::fs::write(std::path::Path::new(&args[2]).join(&id), json).expect("writing the object");
    println!("{id}");
}
