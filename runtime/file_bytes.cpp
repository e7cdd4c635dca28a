#include "file_bytes.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "error.h"

namespace tconv {
namespace runtime {
namespace {

std::string errno_text(int error) { return std::strerror(error); }

// A new, exclusively created file next to the target; removed on destruction unless the caller
// renamed it into place (release()). open() with mode 0666 lets the umask decide the final
// permissions, as for any ordinary file (mkstemp would force 0600).
class TemporaryFile {
 public:
  explicit TemporaryFile(const std::string& prefix) {
    static std::atomic<unsigned> counter{0};
    for (int attempt = 0; attempt < 100; ++attempt) {
      path_ = prefix + std::to_string(::getpid()) + "." + std::to_string(counter++);
      fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
      if (fd_ >= 0 || errno != EEXIST) break;
    }
    if (fd_ >= 0) created_ = true;
  }
  ~TemporaryFile() {
    close();
    if (created_) ::unlink(path_.c_str());
  }
  TemporaryFile(const TemporaryFile&) = delete;
  TemporaryFile& operator=(const TemporaryFile&) = delete;

  int fd() const { return fd_; }
  const std::string& path() const { return path_; }
  // 0, or the errno of a failed close (a delayed write error can surface only there).
  int close() {
    if (fd_ < 0) return 0;
    const int result = ::close(fd_);
    fd_ = -1;
    return result == 0 ? 0 : errno;
  }
  void release() { created_ = false; }

 private:
  std::string path_;
  int fd_ = -1;
  bool created_ = false;
};

std::string directory_of(const std::string& path) {
  const auto slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

std::string base_name_of(const std::string& path) {
  const auto slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

}  // namespace

std::vector<char> read_file_bytes(const std::string& path, const std::string& what) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    throw Error("cannot open " + what + " '" + path + "': " + errno_text(errno));
  }
  struct stat info {};
  if (::fstat(fd, &info) != 0 || !S_ISREG(info.st_mode)) {
    ::close(fd);
    throw Error("cannot read " + what + " '" + path + "': not a regular file");
  }
  std::vector<char> bytes(static_cast<size_t>(info.st_size));
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t got = ::read(fd, bytes.data() + done, bytes.size() - done);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) {
      const int error = got < 0 ? errno : 0;
      ::close(fd);
      throw Error("cannot read " + what + " '" + path + "': " +
                  (error ? errno_text(error) : std::string("file shrank while reading")));
    }
    done += static_cast<size_t>(got);
  }
  ::close(fd);
  return bytes;
}

void write_file_atomically(const std::string& path, const std::vector<char>& bytes) {
  if (path.empty() || path.back() == '/') {
    throw Error("cannot write '" + path + "': not a file name");
  }
  // Same directory as the target, so the final rename never crosses file systems; the leading dot
  // keeps an interrupted write out of plain directory listings.
  TemporaryFile temporary(directory_of(path) + "/." + base_name_of(path) + ".tmp.");
  if (temporary.fd() < 0) {
    throw Error("cannot write '" + path + "': " + errno_text(errno));
  }
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t wrote = ::write(temporary.fd(), bytes.data() + done, bytes.size() - done);
    if (wrote < 0 && errno == EINTR) continue;
    if (wrote <= 0) {
      throw Error("cannot write '" + path + "': " + errno_text(wrote < 0 ? errno : EIO));
    }
    done += static_cast<size_t>(wrote);
  }
  if (::fsync(temporary.fd()) != 0) {
    throw Error("cannot write '" + path + "': " + errno_text(errno));
  }
  if (const int error = temporary.close()) {
    throw Error("cannot write '" + path + "': " + errno_text(error));
  }
  if (::rename(temporary.path().c_str(), path.c_str()) != 0) {
    throw Error("cannot write '" + path + "': " + errno_text(errno));
  }
  temporary.release();
}

}  // namespace runtime
}  // namespace tconv
