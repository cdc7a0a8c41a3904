//! `fs::DirBuilder` and symbolic links (issue 15).

mod common;

use std::io;

use common::{TempDir, block_on};
use solo_io::fs::{self, DirBuilder};

#[test]
fn dir_builder_creates_one_level_or_all() {
    let dir = TempDir::new("dirbuilder");
    block_on(async {
        DirBuilder::new().create(dir.join("one")).await?;
        assert!(dir.join("one").is_dir());

        // Not recursive: a missing parent, or an existing directory, is an error that
        // names the path.
        let err = DirBuilder::new()
            .create(dir.join("missing/child"))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::NotFound);
        assert!(err.to_string().contains("missing"), "{err}");
        let err = DirBuilder::new().create(dir.join("one")).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::AlreadyExists);

        // Recursive: parents too, and an existing directory is fine.
        let mut builder = DirBuilder::new();
        builder.recursive(true);
        builder.create(dir.join("a/b/c")).await?;
        builder.create(dir.join("a/b/c")).await?;
        assert!(dir.join("a/b/c").is_dir());
        io::Result::Ok(())
    })
    .unwrap();
}

#[cfg(unix)]
#[test]
fn dir_builder_mode_and_unix_symlinks() {
    use fs::unix::{DirBuilderExt, PermissionsExt};

    let dir = TempDir::new("unix-fs");
    block_on(async {
        let mut builder = DirBuilder::new();
        builder.mode(0o700);
        builder.create(dir.join("private")).await?;
        let mode = fs::metadata(dir.join("private"))
            .await?
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o700);

        fs::write(dir.join("target.txt"), "pointed at").await?;
        fs::unix::symlink("target.txt", dir.join("link.txt")).await?;
        assert_eq!(
            fs::read_to_string(dir.join("link.txt")).await?,
            "pointed at"
        );
        assert_eq!(
            fs::read_link(dir.join("link.txt")).await?,
            std::path::Path::new("target.txt")
        );
        assert!(
            fs::symlink_metadata(dir.join("link.txt"))
                .await?
                .file_type()
                .is_symlink()
        );
        // A dangling link is allowed; an existing link name is not.
        fs::unix::symlink("nowhere", dir.join("dangling")).await?;
        let err = fs::unix::symlink("target.txt", dir.join("link.txt"))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::AlreadyExists);
        assert!(err.to_string().starts_with("symlink \""), "{err}");
        io::Result::Ok(())
    })
    .unwrap();
}

#[cfg(windows)]
#[test]
fn windows_symlinks_to_files_and_directories() {
    let dir = TempDir::new("windows-fs");
    block_on(async {
        fs::write(dir.join("target.txt"), "pointed at").await?;
        fs::create_dir(dir.join("target-dir")).await?;
        let file = fs::windows::symlink_file(dir.join("target.txt"), dir.join("link.txt")).await;
        match file {
            Ok(()) => {
                // The links are there and say where they point. (Wine 8's
                // CreateSymbolicLinkW is a stub that reports success and creates nothing:
                // there is nothing to check then.)
                let meta = match fs::symlink_metadata(dir.join("link.txt")).await {
                    Err(e) if e.kind() == io::ErrorKind::NotFound => {
                        eprintln!("the system reported a link it did not create: {e}");
                        return Ok(());
                    }
                    meta => meta?,
                };
                assert!(meta.file_type().is_symlink());
                assert_eq!(
                    fs::read_link(dir.join("link.txt")).await?,
                    dir.join("target.txt")
                );
                fs::windows::symlink_dir(dir.join("target-dir"), dir.join("link-dir")).await?;
                let meta = fs::symlink_metadata(dir.join("link-dir")).await?;
                assert!(meta.file_type().is_symlink());
                assert_eq!(
                    fs::read_link(dir.join("link-dir")).await?,
                    dir.join("target-dir")
                );
                // An existing link name is an error naming the operation.
                let err = fs::windows::symlink_file(dir.join("target.txt"), dir.join("link.txt"))
                    .await
                    .unwrap_err();
                assert!(err.to_string().starts_with("symlink_file \""), "{err}");
            }
            // Windows grants symbolic links to administrators and developer mode only.
            Err(e) if e.raw_os_error().is_some() => {
                assert!(e.to_string().starts_with("symlink_file \""), "{e}");
                eprintln!("symbolic links not allowed here: {e}");
            }
            Err(e) => return Err(e),
        }
        io::Result::Ok(())
    })
    .unwrap();
}
