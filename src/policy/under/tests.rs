use super::*;

const P: &str = "/Users/alice/projects";

#[test]
fn posix_inside() {
    for v in [
        "/Users/alice/projects",
        "/Users/alice/projects/",
        "/Users/alice/projects/a.txt",
        "/Users/alice//projects/./src//main.rs",
        "/Users/alice/projects/a/../b",
        "./a/../b",
        "a/b/c",
        "",
        ".",
        "src/..",
    ] {
        assert!(is_under(v, P), "{v:?} should be under {P}");
    }
}

#[test]
fn posix_outside() {
    for v in [
        "/etc/passwd",
        "../secrets",
        "a/../../secrets",
        "./../../../etc/passwd",
        "/Users/alice/projects/../other",
        "/Users/alice/projects/a/../../other",
        "/Users/alice/projects-evil",
        "/Users/alice/projects-evil/x",
        "/Users/alice/project",
        "/Users/alice",
        "/",
        "/../../Users/alice/projects/../x",
        "/users/alice/projects/x",
        "~/projects",
        "~alice/.ssh/id_ed25519",
        "file:///etc/passwd",
        "/Users/alice/projects/x\0/../../../etc",
        // `\` is a file-name character on POSIX but a separator on some servers: both readings must agree.
        "a\\b/../../x",
        "..\\..\\etc\\passwd",
    ] {
        assert!(!is_under(v, P), "{v:?} must not be under {P}");
    }
}

#[test]
fn posix_prefix_forms() {
    assert!(is_under("/srv/data/x", "/srv/data/"));
    assert!(is_under("/srv/data/x", "/srv//data/."));
    assert!(is_under("/srv/x", "/srv/data/.."));
    assert!(is_under("/anything", "/"));
    assert!(!is_under("/srv/data-2", "/srv/data/"));
    assert!(!is_under("/srv/data/x", "srv/data"), "a relative prefix");
    assert!(!is_under("/srv/data/x", ""), "an empty prefix");
    assert!(
        is_under("x:y/z", "/srv"),
        "a colon is an ordinary character on POSIX"
    );
}

#[test]
fn windows_inside() {
    let p = r"C:\Users\alice\projects";
    for v in [
        r"C:\Users\alice\projects",
        r"C:\Users\alice\projects\src\main.rs",
        r"c:\users\ALICE\Projects\x",
        "C:/Users/alice/projects/x",
        r"C:\Users\alice\projects\a\..\b",
        r"C:\Users\alice\\projects\.\x",
        r"src\main.rs",
        r".\a\..\b",
        "a/b",
    ] {
        assert!(is_under(v, p), "{v:?} should be under {p}");
    }
    assert!(is_under(
        r"c:\users\alice\projects\x",
        "C:/Users/Alice/Projects/"
    ));
}

#[test]
fn windows_outside() {
    let p = r"C:\Users\alice\projects";
    for v in [
        r"C:\Windows\System32\config\SAM",
        r"..\secrets",
        r"a\..\..\secrets",
        r"C:\Users\alice\projects\..\other",
        r"C:\Users\alice\projects-evil\x",
        r"C:\Users\alice\projects\.. \..\x",
        r"D:\Users\alice\projects\x",
        r"\Users\alice\projects\x",
        "/Users/alice/projects/x",
        r"C:Users\alice\projects",
        r"\\?\C:\Users\alice\projects\x",
        r"\\.\C:\Users\alice\projects\x",
        r"\??\C:\Users\alice\projects\x",
        r"\\server\share\Users\alice\projects",
        "~/x",
    ] {
        assert!(!is_under(v, p), "{v:?} must not be under {p}");
    }
}

#[test]
fn windows_unc_prefix() {
    let p = r"\\fileserver\Team\docs";
    assert!(is_under(r"\\FILESERVER\team\docs\a.txt", p));
    assert!(is_under("//fileserver/team/docs/x", p));
    assert!(is_under(r"sub\x", p));
    assert!(!is_under(r"\\fileserver\team\other", p));
    assert!(
        !is_under(r"\\fileserver\team\docs\..\..\..\x", p),
        "`..` never leaves the share"
    );
    assert!(!is_under(r"\\other\team\docs\x", p));
}

#[test]
fn absolute_prefixes() {
    for p in [
        "/",
        "/srv",
        r"C:\",
        "c:/x",
        r"\\server\share",
        r"\\server\share\d",
    ] {
        assert!(is_absolute(p), "{p:?}");
    }
    for p in [
        "",
        "srv",
        "./srv",
        "~/x",
        "C:",
        "C:x",
        r"\x",
        r"\\server",
        r"\\?\C:\x",
        "//./pipe/x",
    ] {
        assert!(!is_absolute(p), "{p:?}");
    }
}
