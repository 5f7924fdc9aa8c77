//! Which object keys (and `name=value` names) hold a secret. A key is read as words — split at `_`, `-`, `.`,
//! spaces and any other punctuation, at camelCase and acronym boundaries (`XAPIKey` = x, api, key) and before
//! digits — in any case. Whole words only, so `author`, `passage`, `tokens` and `secretary` stay readable.

/// Words that name a secret wherever they stand in a key.
const SECRET_WORDS: &[&str] = &[
    "password",
    "passwd",
    "pwd",
    "pass",
    "passphrase",
    "passcode",
    "secret",
    "secrets",
    "token",
    "auth",
    "authorization",
    "credential",
    "credentials",
    "creds",
    "cookie",
    "cookies",
    "session",
    // Compounds written as one word (`APIKEY`, `accesstoken`).
    "apikey",
    "apikeys",
    "privatekey",
    "accesskey",
    "secretkey",
    "clientsecret",
    "authtoken",
    "accesstoken",
    "refreshtoken",
    "idtoken",
    "sessionid",
    "sessiontoken",
    "setcookie",
];

/// `<word> key` anywhere in a name (`api_key_value`, `PrivateKeyPem`) is a secret.
const KEY_QUALIFIERS: &[&str] = &[
    "api",
    "private",
    "access",
    "secret",
    "client",
    "signing",
    "encryption",
    "master",
    "ssh",
    "license",
];

/// Whether an object key names a secret: one of the words above (password/passwd/pwd/pass/passphrase,
/// secret, token, auth/authorization, credential(s), cookie, session, …), or a name of two or more words
/// ending in `key` (api key, private key, access key, `aws_secret_access_key`), in any case and spelling:
/// `X-Api-Key`, `accessToken`, `CLIENT.SECRET`, `private key`, `APIKey`.
pub fn is_secret_key(key: &str) -> bool {
    let words = words(key);
    if words.iter().any(|w| SECRET_WORDS.contains(&w.as_str())) {
        return true;
    }
    let qualified_key = words
        .windows(2)
        .any(|pair| pair[1] == "key" && KEY_QUALIFIERS.contains(&pair[0].as_str()));
    qualified_key || (words.len() >= 2 && words.last().is_some_and(|w| w == "key"))
}

/// The lowercase words of a key.
pub(crate) fn words(key: &str) -> Vec<String> {
    let chars: Vec<char> = key.chars().collect();
    let mut words = Vec::new();
    let mut word = String::new();
    for (i, &c) in chars.iter().enumerate() {
        if !c.is_alphanumeric() {
            flush(&mut words, &mut word);
            continue;
        }
        let prev = i.checked_sub(1).map(|p| chars[p]);
        let next = chars.get(i + 1).copied();
        let boundary = match prev {
            None => false,
            Some(p) if !p.is_alphanumeric() => false,
            // camelCase: a capital after a small letter or a digit.
            Some(p) if c.is_uppercase() && (p.is_lowercase() || p.is_numeric()) => true,
            // An acronym's end: `APIKey` splits before the `K`.
            Some(p) if c.is_uppercase() && p.is_uppercase() => next.is_some_and(char::is_lowercase),
            // A digit after a letter, or a letter after a digit.
            Some(p) => p.is_numeric() != c.is_numeric(),
        };
        if boundary {
            flush(&mut words, &mut word);
        }
        word.extend(c.to_lowercase());
    }
    flush(&mut words, &mut word);
    words
}

fn flush(words: &mut Vec<String>, word: &mut String) {
    if !word.is_empty() {
        words.push(std::mem::take(word));
    }
}
