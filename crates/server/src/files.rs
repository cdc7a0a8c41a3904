//! Static files: from a request path to a file under a root directory, and its content type.
//!
//! Resolution has two steps. [`sanitize`] is pure: it percent-decodes each segment of the
//! path and refuses anything that could name a file outside the root (`..`, encoded
//! separators, NUL, backslashes, drive letters) or a hidden file. [`Root::resolve`] then asks
//! the file system: it canonicalizes the result (following symbolic links), refuses anything
//! that lands outside the canonical root, and serves `index.html` for a directory. It blocks
//! on the file system, so the server calls it off the event loop.
//!
//! A link swapped between `resolve` and opening the file is not caught (this is a demo; a
//! production server would open relative to a directory handle with `openat2`'s
//! `RESOLVE_BENEATH`).

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use crate::http::{Status, percent_decode};

/// Why a request path names no file to serve.
#[derive(Debug)]
pub enum FileError {
    /// 400: the path is refused as written; says why.
    BadPath(&'static str),
    /// 403: the path leads outside the root, or may not be read.
    Forbidden,
    /// 404: there is no such file (also: a loop of symbolic links).
    NotFound,
    /// 414: a name in the path is longer than the file system allows.
    NameTooLong,
    /// 500: the file system failed otherwise.
    Io(io::Error),
}

impl FileError {
    /// The status to answer with.
    pub fn status(&self) -> Status {
        match self {
            FileError::BadPath(_) => Status::BadRequest,
            FileError::Forbidden => Status::Forbidden,
            FileError::NotFound => Status::NotFound,
            FileError::NameTooLong => Status::UriTooLong,
            FileError::Io(_) => Status::InternalServerError,
        }
    }
}

impl fmt::Display for FileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FileError::BadPath(why) => write!(f, "refused path: {why}"),
            FileError::Forbidden => f.write_str("outside the root or not readable"),
            FileError::NotFound => f.write_str("no such file"),
            FileError::NameTooLong => {
                f.write_str("a name in the path is longer than the file system allows")
            }
            FileError::Io(error) => write!(f, "file system error: {error}"),
        }
    }
}

impl std::error::Error for FileError {}

impl From<io::Error> for FileError {
    fn from(error: io::Error) -> FileError {
        match error.kind() {
            io::ErrorKind::NotFound | io::ErrorKind::NotADirectory => FileError::NotFound,
            io::ErrorKind::PermissionDenied => FileError::Forbidden,
            _ if is_link_loop(&error) => FileError::NotFound,
            _ if is_name_too_long(&error) => FileError::NameTooLong,
            _ => FileError::Io(error),
        }
    }
}

/// Too many symbolic links while resolving a path (a loop): `ELOOP`, or Windows'
/// `ERROR_CANT_RESOLVE_FILENAME`.
fn is_link_loop(error: &io::Error) -> bool {
    #[cfg(unix)]
    let code = libc::ELOOP;
    #[cfg(windows)]
    let code = 1921;
    #[cfg(not(any(unix, windows)))]
    return false;
    #[cfg(any(unix, windows))]
    return error.raw_os_error() == Some(code);
}

/// A file name or path longer than the OS allows: `ENAMETOOLONG`, or Windows'
/// `ERROR_FILENAME_EXCED_RANGE`.
fn is_name_too_long(error: &io::Error) -> bool {
    #[cfg(unix)]
    let code = libc::ENAMETOOLONG;
    #[cfg(windows)]
    let code = 206;
    #[cfg(not(any(unix, windows)))]
    return false;
    #[cfg(any(unix, windows))]
    return error.raw_os_error() == Some(code);
}

/// Turns the path of a request target (percent-encoded, without the query) into a
/// relative path that cannot leave the directory it is joined to. Empty segments are
/// skipped; the empty result means the root itself.
///
/// Refused, after decoding each segment: a segment starting with `.` (so `.`, `..` and
/// hidden files), an encoded `/`, a `\`, a `:`, a NUL or another control character, bytes
/// that are not UTF-8, and a path not starting with `/`.
pub fn sanitize(path: &str) -> Result<PathBuf, FileError> {
    let Some(segments) = path.strip_prefix('/') else {
        return Err(FileError::BadPath("not an absolute path"));
    };
    let mut relative = PathBuf::new();
    let mut decoded = Vec::new();
    for segment in segments.split('/').filter(|segment| !segment.is_empty()) {
        decoded.clear();
        percent_decode(segment.as_bytes(), false, &mut decoded)
            .ok_or(FileError::BadPath("invalid percent escape"))?;
        let segment = std::str::from_utf8(&decoded).map_err(|_| FileError::BadPath("not UTF-8"))?;
        if segment.starts_with('.') {
            return Err(FileError::BadPath("dot segment or hidden file"));
        }
        if segment.contains(['/', '\\', ':']) || segment.chars().any(char::is_control) {
            return Err(FileError::BadPath(
                "separator or control character in a segment",
            ));
        }
        relative.push(segment);
    }
    Ok(relative)
}

/// The directory files are served from, canonicalized once.
#[derive(Clone, Debug)]
pub struct Root {
    canonical: PathBuf,
}

impl Root {
    /// The root at `directory`, which must exist.
    pub fn new(directory: impl AsRef<Path>) -> io::Result<Root> {
        let canonical = directory.as_ref().canonicalize()?;
        if !canonical.is_dir() {
            return Err(io::Error::new(
                io::ErrorKind::NotADirectory,
                "the root is not a directory",
            ));
        }
        Ok(Root { canonical })
    }

    /// The canonical path of the root.
    pub fn path(&self) -> &Path {
        &self.canonical
    }

    /// The regular file a request path names: [`sanitize`]d, joined to the root,
    /// canonicalized and checked to be still inside the root; for a directory, its
    /// `index.html`. Blocks on the file system.
    pub fn resolve(&self, path: &str) -> Result<PathBuf, FileError> {
        let relative = sanitize(path)?;
        let mut file = self.inside(&self.canonical.join(relative))?;
        if file.is_dir() {
            file = self.inside(&file.join("index.html"))?;
        }
        if !file.is_file() {
            return Err(FileError::NotFound);
        }
        Ok(file)
    }

    /// `path` canonicalized, if it is the root or beneath it.
    fn inside(&self, path: &Path) -> Result<PathBuf, FileError> {
        let canonical = path.canonicalize()?;
        if !canonical.starts_with(&self.canonical) {
            return Err(FileError::Forbidden);
        }
        Ok(canonical)
    }
}

/// The `Content-Type` for a file, by its extension (case-insensitive).
pub fn content_type(path: &Path) -> &'static str {
    let extension = path.extension().and_then(|e| e.to_str()).unwrap_or("");
    const TYPES: [(&str, &str); 15] = [
        ("html", "text/html; charset=utf-8"),
        ("htm", "text/html; charset=utf-8"),
        ("css", "text/css; charset=utf-8"),
        ("js", "text/javascript; charset=utf-8"),
        ("mjs", "text/javascript; charset=utf-8"),
        ("json", "application/json"),
        ("txt", "text/plain; charset=utf-8"),
        ("svg", "image/svg+xml"),
        ("png", "image/png"),
        ("jpg", "image/jpeg"),
        ("jpeg", "image/jpeg"),
        ("gif", "image/gif"),
        ("ico", "image/x-icon"),
        ("wasm", "application/wasm"),
        ("woff2", "font/woff2"),
    ];
    TYPES
        .iter()
        .find(|(known, _)| known.eq_ignore_ascii_case(extension))
        .map_or("application/octet-stream", |(_, content_type)| content_type)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    /// A fresh directory under the system's temporary directory, removed on drop.
    struct TempDir(PathBuf);

    impl TempDir {
        fn new(name: &str) -> TempDir {
            let path =
                std::env::temp_dir().join(format!("solo-server-{name}-{}", std::process::id()));
            let _ = fs::remove_dir_all(&path);
            fs::create_dir_all(&path).unwrap();
            TempDir(path)
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    fn bad(path: &str) -> bool {
        matches!(sanitize(path), Err(FileError::BadPath(_)))
    }

    #[test]
    fn sanitize_accepts_plain_paths() {
        assert_eq!(sanitize("/").unwrap(), PathBuf::new());
        assert_eq!(sanitize("//a///b/").unwrap(), Path::new("a").join("b"));
        assert_eq!(
            sanitize("/static/app%20v2.js").unwrap(),
            Path::new("static").join("app v2.js")
        );
        assert_eq!(sanitize("/caf%C3%A9.txt").unwrap(), Path::new("café.txt"));
        assert_eq!(
            sanitize("/a..b/c.d").unwrap(),
            Path::new("a..b").join("c.d")
        );
        // Never absolute, however many slashes lead.
        assert_eq!(
            sanitize("//etc/passwd").unwrap(),
            Path::new("etc").join("passwd")
        );
        assert!(sanitize("///etc").unwrap().is_relative());
    }

    #[test]
    fn sanitize_refuses_escapes() {
        for path in [
            "/..",
            "/../etc/passwd",
            "/a/../../b",
            "/%2e%2e/etc/passwd",
            "/%2E%2e%2fetc",
            "/a/%2e%2e%2f%2e%2e%2fetc",
            "/a%2f..%2f..%2fb",
            "/a%2Fb",
            "/..%5c..%5cwindows",
            "/a\\..\\b",
            "/./a",
            "/.git/config",
            "/a/%2e",
            "/C:/Windows",
            "/c%3A%5Cwindows",
            "/a%00.html",
            "/a%0a",
            "/%ff",
            "/%zz",
            "/%",
            "relative",
            "",
            "http://host/a",
        ] {
            assert!(bad(path), "{path} was not refused: {:?}", sanitize(path));
        }
    }

    #[test]
    fn resolve_under_a_real_root() {
        let dir = TempDir::new("files");
        let root_dir = dir.0.join("root");
        fs::create_dir_all(root_dir.join("sub")).unwrap();
        fs::create_dir_all(root_dir.join("empty")).unwrap();
        fs::write(root_dir.join("index.html"), "home").unwrap();
        fs::write(root_dir.join("sub").join("index.html"), "sub home").unwrap();
        fs::write(root_dir.join("style.CSS"), "css").unwrap();
        fs::write(dir.0.join("secret.txt"), "outside").unwrap();
        let root = Root::new(&root_dir).unwrap();

        let read = |path: &str| fs::read_to_string(root.resolve(path)?).map_err(FileError::from);
        assert_eq!(read("/").unwrap(), "home");
        assert_eq!(read("/index.html").unwrap(), "home");
        assert_eq!(read("/sub").unwrap(), "sub home");
        assert_eq!(read("/sub/").unwrap(), "sub home");
        assert_eq!(read("/style.CSS").unwrap(), "css");
        assert!(matches!(read("/missing.html"), Err(FileError::NotFound)));
        assert!(matches!(read("/empty"), Err(FileError::NotFound)));
        assert!(matches!(read("/index.html/x"), Err(FileError::NotFound)));
        assert!(matches!(read("/../secret.txt"), Err(FileError::BadPath(_))));
        assert!(matches!(
            read("/%2e%2e/secret.txt"),
            Err(FileError::BadPath(_))
        ));
        assert_eq!(read("/missing").unwrap_err().status(), Status::NotFound);
    }

    #[cfg(unix)]
    #[test]
    fn symlinks_out_of_the_root_are_refused() {
        use std::os::unix::fs::symlink;
        let dir = TempDir::new("symlinks");
        let root_dir = dir.0.join("root");
        fs::create_dir_all(root_dir.join("real")).unwrap();
        fs::create_dir_all(dir.0.join("outside")).unwrap();
        fs::write(dir.0.join("outside").join("index.html"), "outside").unwrap();
        fs::write(dir.0.join("secret.txt"), "secret").unwrap();
        fs::write(root_dir.join("real").join("page.html"), "inside").unwrap();
        symlink(dir.0.join("secret.txt"), root_dir.join("leak.txt")).unwrap();
        symlink(dir.0.join("outside"), root_dir.join("leakdir")).unwrap();
        symlink("real/page.html", root_dir.join("alias.html")).unwrap();
        symlink(
            dir.0.join("outside").join("index.html"),
            root_dir.join("real").join("index.html"),
        )
        .unwrap();
        let root = Root::new(&root_dir).unwrap();

        assert!(matches!(
            root.resolve("/leak.txt"),
            Err(FileError::Forbidden)
        ));
        assert!(matches!(
            root.resolve("/leakdir"),
            Err(FileError::Forbidden)
        ));
        assert!(matches!(
            root.resolve("/leakdir/index.html"),
            Err(FileError::Forbidden)
        ));
        // A directory inside whose index.html points outside.
        assert!(matches!(root.resolve("/real/"), Err(FileError::Forbidden)));
        assert_eq!(
            root.resolve("/leak.txt").unwrap_err().status(),
            Status::Forbidden
        );
        // Links that stay inside are followed.
        let alias = root.resolve("/alias.html").unwrap();
        assert_eq!(fs::read_to_string(alias).unwrap(), "inside");
    }

    #[cfg(unix)]
    #[test]
    fn a_symlink_loop_is_not_found() {
        use std::os::unix::fs::symlink;
        let dir = TempDir::new("loop");
        symlink("b", dir.0.join("a")).unwrap();
        symlink("a", dir.0.join("b")).unwrap();
        symlink("self", dir.0.join("self")).unwrap();
        let root = Root::new(&dir.0).unwrap();
        for path in ["/a", "/b", "/self", "/self/x", "/a/index.html"] {
            let error = root.resolve(path).unwrap_err();
            assert_eq!(error.status(), Status::NotFound, "{path}: {error}");
        }
    }

    #[test]
    fn a_name_longer_than_the_os_allows_is_uri_too_long() {
        let dir = TempDir::new("long-name");
        let root = Root::new(&dir.0).unwrap();
        // Longer than the names the usual file systems allow (255 bytes).
        let error = root.resolve(&format!("/{}", "n".repeat(300))).unwrap_err();
        assert_eq!(error.status(), Status::UriTooLong, "{error}");
        let error = root
            .resolve(&format!("/a/{}/b", "n".repeat(300)))
            .unwrap_err();
        assert!(
            matches!(error.status(), Status::UriTooLong | Status::NotFound),
            "{error}"
        );
    }

    #[test]
    fn root_must_be_a_directory() {
        let dir = TempDir::new("root-file");
        fs::write(dir.0.join("file"), "").unwrap();
        assert!(Root::new(dir.0.join("file")).is_err());
        assert!(Root::new(dir.0.join("missing")).is_err());
        assert_eq!(
            Root::new(&dir.0).unwrap().path(),
            dir.0.canonicalize().unwrap()
        );
    }

    #[test]
    fn content_types() {
        let of = |name: &str| content_type(Path::new(name));
        assert_eq!(of("index.html"), "text/html; charset=utf-8");
        assert_eq!(of("INDEX.HTM"), "text/html; charset=utf-8");
        assert_eq!(of("a/b/app.js"), "text/javascript; charset=utf-8");
        assert_eq!(of("style.css"), "text/css; charset=utf-8");
        assert_eq!(of("data.json"), "application/json");
        assert_eq!(of("notes.txt"), "text/plain; charset=utf-8");
        assert_eq!(of("logo.svg"), "image/svg+xml");
        assert_eq!(of("a.png"), "image/png");
        assert_eq!(of("a.JPG"), "image/jpeg");
        assert_eq!(of("a.gif"), "image/gif");
        assert_eq!(of("favicon.ico"), "image/x-icon");
        assert_eq!(of("app.wasm"), "application/wasm");
        assert_eq!(of("font.woff2"), "font/woff2");
        assert_eq!(of("archive.tar.gz"), "application/octet-stream");
        assert_eq!(of("Makefile"), "application/octet-stream");
    }
}
