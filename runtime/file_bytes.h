// Whole-file reads and all-or-nothing writes, with errors that name the file and the reason.
#pragma once

#include <string>
#include <vector>

namespace tconv {
namespace runtime {

// The file's bytes. Throws Error for a missing, unreadable or non-regular file (a directory).
// `what` names the file's role in the message, e.g. "model file" or "tensor file".
std::vector<char> read_file_bytes(const std::string& path, const std::string& what);

// Writes `bytes` to `path` so that a reader sees either the old file (or none) or the complete
// new one, never a prefix: the bytes go to a temporary file in the same directory, are flushed to
// disk, and the temporary is renamed over `path` (rename is atomic within one file system). On any
// failure the temporary is removed and Error is thrown.
void write_file_atomically(const std::string& path, const std::vector<char>& bytes);

}  // namespace runtime
}  // namespace tconv
