#include "archive.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <string>
#include <vector>

namespace tconv {
namespace runtime {

bool looks_like_zip_archive(const std::vector<char>& bytes) {
  return bytes.size() >= 4 && bytes[0] == 'P' && bytes[1] == 'K' && bytes[2] == 3 && bytes[3] == 4;
}

bool is_damaged_archive_message(const std::string& message) {
  // miniz's own error strings, which PyTorchStreamReader passes on.
  for (const char* symptom : {"failed finding central directory", "failed reading zip archive",
                              "file read failed", "invalid header or archive is corrupted",
                              "CRC-32 check failed", "decompression failed",
                              "unexpected decompressed size", "not a ZIP archive"}) {
    if (message.find(symptom) != std::string::npos) return true;
  }
  return false;
}

std::string describe_non_archive(const std::vector<char>& bytes) {
  if (bytes.empty()) return "the file is empty";
  const size_t shown = std::min<size_t>(bytes.size(), 16);
  const bool printable = std::all_of(bytes.begin(), bytes.begin() + shown, [](char c) {
    return std::isprint(static_cast<unsigned char>(c)) || c == '\n' || c == '\t' || c == '\r';
  });
  std::string text;
  if (printable) {
    for (size_t i = 0; i < shown; ++i) text += std::isprint(static_cast<unsigned char>(bytes[i])) ? bytes[i] : ' ';
    return "it starts with text: '" + text + (bytes.size() > shown ? "...'" : "'");
  }
  for (size_t i = 0; i < std::min<size_t>(shown, 4); ++i) {
    char hex[4];
    std::snprintf(hex, sizeof hex, "%02x", static_cast<unsigned char>(bytes[i]));
    text += (i ? " " : "") + std::string(hex);
  }
  return "it starts with bytes " + text;
}

}  // namespace runtime
}  // namespace tconv
