//! Files that must outlive a power cut once minside has said they are stored.
//!
//! A letter's documents are written before the transaction that stores the letter, and a print
//! batch's files before its letters are marked as handed over. PostgreSQL makes that commit
//! durable (it waits for the disk); the files must be on the disk by then too, or a power cut
//! leaves a letter whose document is empty or missing, or a batch marked printed that no printer
//! will find. A file is flushed before it gets its name, and the directory after the name is
//! given (on Linux a new name is durable only when its directory is flushed). Nothing here can be
//! tested short of cutting the power; the writes' results are tested where they are used.

use std::io::Write;
use std::path::Path;

/// Creates (or truncates) `path` with `bytes`, flushed to the disk.
pub(crate) fn write_file(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut file = std::fs::File::create(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

/// Flushes the names in directory `dir` to the disk (after a rename or a new file in it).
pub(crate) fn sync_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::File::open(dir)?.sync_all()
}

/// Flushes `dir` and each directory above it up to and including `root` (none above it): after
/// `dir` (or some of the directories between) was created.
pub(crate) fn sync_dirs_up_to(root: &Path, dir: &Path) -> std::io::Result<()> {
    for d in dir.ancestors().take_while(|d| d.starts_with(root)) {
        sync_dir(d)?;
    }
    Ok(())
}
