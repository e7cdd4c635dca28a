// Both .pt kinds the runtime reads (torch.jit.save models and torch.save tensors) are zip archives.
// Looking at the first bytes tells "this is not such a file at all" (a text file, a pickle from
// an old torch) from "this archive is damaged" before libtorch gives one message for both.
#pragma once

#include <string>
#include <vector>

namespace tconv {
namespace runtime {

// True when the bytes start with a zip local-file header ("PK\3\4").
bool looks_like_zip_archive(const std::vector<char>& bytes);

// A few words on what a non-archive file looks like instead: "the file is empty", "it starts
// with text: 'hello wor...'", "it starts with bytes 80 02 8a 0a" (the last is an old pickle).
std::string describe_non_archive(const std::vector<char>& bytes);

// True when libtorch's error message says the zip structure itself is damaged (a cut-off download,
// a partial copy), as opposed to a sound archive with unexpected contents.
bool is_damaged_archive_message(const std::string& message);

}  // namespace runtime
}  // namespace tconv
