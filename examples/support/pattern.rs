//! Pattern names on the command line of the Noise programs (`noise_echo`,
//! `wasi_leg`): a bare pattern stands for its protocol name with the
//! programs' default DH, cipher and hash.

/// The full protocol name of a bare pattern: `XX` is
/// `Noise_XX_25519_ChaChaPoly_BLAKE2s`, `hybridIK` uses `25519+MLKEM768`,
/// `pqNK` uses `MLKEM768`; a name with an underscore is taken as it is.
pub fn full_name(name: &str) -> String {
    if name.contains('_') {
        name.to_owned()
    } else if name.starts_with("hybrid") {
        format!("Noise_{name}_25519+MLKEM768_ChaChaPoly_BLAKE2s")
    } else if name.starts_with("pq") {
        format!("Noise_{name}_MLKEM768_ChaChaPoly_BLAKE2s")
    } else {
        format!("Noise_{name}_25519_ChaChaPoly_BLAKE2s")
    }
}
