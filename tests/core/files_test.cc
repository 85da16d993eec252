// SPDX-License-Identifier: Apache-2.0
// OutputDir (issue 21): made 0700; foreign, group/world-writable, symlinked and non-empty
// directories refused; --force empties without following links; files written through the
// directory fd never follow a planted symlink. utf8_escaped keeps the bytes it cannot pass.
#include <fcntl.h>
#include <grp.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <optional>

#include "arenalab/core/files.h"
#include "arenalab/core/text.h"

namespace arenalab {
namespace {

namespace fs = std::filesystem;

class OutputDirTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/arenalab-files-test-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    root_ = tmpl;
    victim_ = root_ / "victim";
    std::ofstream(victim_) << "precious";
    fs::permissions(victim_, fs::perms::owner_read | fs::perms::owner_write);
  }
  void TearDown() override { fs::remove_all(root_); }
  std::string victim_text() const {
    std::ifstream in(victim_);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  }
  fs::path root_, victim_;
};

TEST_F(OutputDirTest, NewDirectoryIsPrivateAndFilesAre0600) {
  auto d = OutputDir::open((root_ / "a" / "b").string(), ExistingDir::kRefuseNonEmpty);
  ASSERT_TRUE(d.ok()) << d.error().message;
  EXPECT_TRUE(d->created());
  struct stat st {};
  ASSERT_EQ(::stat((root_ / "a" / "b").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  ASSERT_TRUE(d->write_file("x.json", "{}\n").ok());
  ASSERT_EQ(::stat((root_ / "a" / "b" / "x.json").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(d->entries(), std::vector<std::string>{"x.json"});  // no temporary file left
}

TEST_F(OutputDirTest, RefusesSymlinkForeignOpenAndUsedDirectories) {
  fs::create_directory(root_ / "real");
  fs::create_directory_symlink(root_ / "real", root_ / "link");
  auto link = OutputDir::open((root_ / "link").string(), ExistingDir::kAccept);
  ASSERT_FALSE(link.ok());
  EXPECT_NE(link.error().message.find("link"), std::string::npos) << link.error().message;

  fs::create_directory(root_ / "open");
  fs::permissions(root_ / "open", fs::perms::all);
  auto open = OutputDir::open((root_ / "open").string(), ExistingDir::kAccept);
  ASSERT_FALSE(open.ok());
  EXPECT_NE(open.error().message.find("writable by every user"), std::string::npos);

  if (::geteuid() == 0) {
    fs::create_directory(root_ / "foreign");
    ASSERT_EQ(::chown((root_ / "foreign").c_str(), 65534, 65534), 0);
    auto foreign = OutputDir::open((root_ / "foreign").string(), ExistingDir::kAccept);
    ASSERT_FALSE(foreign.ok());
    EXPECT_NE(foreign.error().message.find("uid 65534"), std::string::npos);
  }

  fs::create_directory(root_ / "used");
  fs::permissions(root_ / "used", fs::perms::owner_all);
  std::ofstream(root_ / "used" / "profile.json") << "{}";
  auto used = OutputDir::open((root_ / "used").string(), ExistingDir::kRefuseNonEmpty);
  ASSERT_FALSE(used.ok());
  EXPECT_NE(used.error().message.find("not empty"), std::string::npos);
  EXPECT_TRUE(OutputDir::open((root_ / "used").string(), ExistingDir::kAccept).ok());
}

// A directory of ours holding symlinks named like our outputs and temporary files: emptying
// it removes the links, never what they point at, and writes go to new files.
TEST_F(OutputDirTest, PlantedSymlinksAreNeverFollowed) {
  const fs::path d = root_ / "planted";
  fs::create_directory(d);
  fs::permissions(d, fs::perms::owner_all);
  fs::create_directory(d / "sub");
  for (const char* n : {"run.json", ".run.json.tmp", "heap.0.heap.tmp", "timeline.jsonl"})
    fs::create_symlink(victim_, d / n);
  fs::create_directory_symlink(root_, d / "sub" / "up");
  auto dir = OutputDir::open(d.string(), ExistingDir::kEmpty);
  ASSERT_TRUE(dir.ok()) << dir.error().message;
  EXPECT_TRUE(dir->entries().empty());
  EXPECT_EQ(victim_text(), "precious");
  EXPECT_TRUE(fs::exists(root_ / "victim"));  // the link into root_ was removed, not followed

  fs::create_symlink(victim_, d / "timeline.jsonl");
  auto fd = dir->create_file("timeline.jsonl");
  EXPECT_FALSE(fd.ok());  // O_NOFOLLOW: refused rather than written through
  fs::create_symlink(victim_, d / "run.json");
  ASSERT_TRUE(dir->write_file("run.json", "new").ok());  // renamed over the link itself
  EXPECT_FALSE(fs::is_symlink(d / "run.json"));
  EXPECT_EQ(victim_text(), "precious");
}

// OutputDir::open makes missing parents as mkdir -p does, but each relative to the one before
// (mkdirat, then openat O_NOFOLLOW): this user's own link in the path is followed as a path, a
// link of another user's put where a parent goes is refused in one line and nothing is made
// where it points. Before, each parent was made by path: mkdir followed the planted link.
TEST_F(OutputDirTest, ParentsAreMadeOneByOneAndAnotherUsersLinkIsNotFollowed) {
  fs::create_directory(root_ / "elsewhere");
  fs::create_directory_symlink(root_ / "elsewhere", root_ / "mine");
  auto own = OutputDir::open((root_ / "mine" / "b" / "c").string(), ExistingDir::kRefuseNonEmpty);
  ASSERT_TRUE(own.ok()) << own.error().message;
  EXPECT_TRUE(own->created());
  EXPECT_TRUE(fs::is_directory(root_ / "elsewhere" / "b" / "c"));
  EXPECT_EQ(fs::status(root_ / "elsewhere" / "b").permissions() & fs::perms::all,
            fs::perms::owner_all);

  if (::geteuid() != 0) GTEST_SKIP() << "a link of another user's needs root to make (lchown)";
  const fs::path planted = root_ / "planted";
  fs::create_directory_symlink(root_ / "elsewhere", planted);
  ASSERT_EQ(::lchown(planted.c_str(), 65534, 65534), 0);
  const std::string want = (planted / "x" / "y").string();
  auto refused = OutputDir::open(want, ExistingDir::kRefuseNonEmpty);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().message,
            "output directory " + want + ": " + planted.string() +
                " is a symbolic link of uid 65534, neither this user's nor root's: refusing to "
                "follow it (give the path it points to, if that is meant)");
  EXPECT_FALSE(fs::exists(root_ / "elsewhere" / "x"));
}

// A parent directory is walked through with search permission only, as a path lookup is: one
// of mode 0711 (0311 for a non-root owner), which cannot be listed, does not refuse the output
// directory below it. As root the open runs in a child that dropped to uid 65534, since root
// reads any directory.
TEST_F(OutputDirTest, ParentsNeedSearchPermissionOnly) {
  const fs::path search_only = root_ / "search-only";
  fs::create_directory(search_only);
  fs::create_directory(search_only / "theirs");
  const std::string want = (search_only / "theirs" / "out").string();
  if (::geteuid() == 0) {
    ASSERT_EQ(::chmod(root_.c_str(), 0711), 0);
    ASSERT_EQ(::chown((search_only / "theirs").c_str(), 65534, 65534), 0);
    ASSERT_EQ(::chmod(search_only.c_str(), 0711), 0);
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      if (::setgroups(0, nullptr) != 0 || ::setgid(65534) != 0 || ::setuid(65534) != 0) _exit(2);
      auto d = OutputDir::open(want, ExistingDir::kRefuseNonEmpty);
      if (!d.ok()) std::fprintf(stderr, "%s\n", d.error().message.c_str());
      _exit(d.ok() ? 0 : 1);
    }
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 0);
  } else {
    ASSERT_EQ(::chmod(search_only.c_str(), 0311), 0);
    auto d = OutputDir::open(want, ExistingDir::kRefuseNonEmpty);
    EXPECT_TRUE(d.ok()) << d.error().message;
  }
  EXPECT_TRUE(fs::is_directory(want));
  ::chmod(search_only.c_str(), 0700);  // listable again for TearDown
}

// A component refused after others were made (here a name too long for mkdir) leaves none of
// the directories this open made; those that existed stay.
TEST_F(OutputDirTest, ARefusedComponentLeavesNoneOfTheDirectoriesMadeBeforeIt) {
  const std::string want = (root_ / "made1" / "made2" / std::string(300, 'x')).string();
  auto d = OutputDir::open(want, ExistingDir::kRefuseNonEmpty);
  ASSERT_FALSE(d.ok());
  EXPECT_NE(d.error().message.find("cannot create directory"), std::string::npos)
      << d.error().message;
  EXPECT_FALSE(fs::exists(root_ / "made1"));
  EXPECT_TRUE(fs::is_directory(root_));
}

// write_file_atomic (check's and watch --json's writer): a link planted at the name its
// temporary file once had (path.tmp.<pid>, guessable) is never written through, nothing but the
// result is left beside it, and a failed write leaves nothing.
TEST_F(OutputDirTest, AtomicWriteFollowsNoPlantedTemporaryName) {
  const fs::path out = root_ / "verdict.json";
  const fs::path planted = out.string() + ".tmp." + std::to_string(::getpid());
  fs::create_symlink(victim_, planted);
  ASSERT_TRUE(write_file_atomic(out.string(), "{}\n"));
  EXPECT_EQ(victim_text(), "precious");
  std::ifstream in(out);
  EXPECT_EQ(std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>()),
            "{}\n");
  EXPECT_TRUE(fs::is_symlink(planted));
  std::size_t entries = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(root_)) ++entries;
  EXPECT_EQ(entries, 3u);  // victim, the planted link, verdict.json: no temporary left

  auto bad = write_file_atomic((root_ / "missing" / "x.json").string(), "{}");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("cannot write"), std::string::npos) << bad.error().message;
  EXPECT_FALSE(fs::exists(root_ / "missing"));
}

// What is written through an OutputDir goes into the directory it opened, even when its path
// is made to name another one afterwards (the check-then-use race of writing by path: arenalab
// as root in someone else's directory). open_subdir makes or checks a directory inside it
// without looking a path up again, and refuses a planted link or another user's directory.
TEST_F(OutputDirTest, WritesGoWhereTheDirectoryWasOpenedNotWhereItsPathLeadsLater) {
  const fs::path d = root_ / "out";
  auto dir = OutputDir::open(d.string(), ExistingDir::kAccept);
  ASSERT_TRUE(dir.ok()) << dir.error().message;
  // The path swapped for a link to a directory of the victim's between the check and the writes.
  const fs::path elsewhere = root_ / "elsewhere";
  fs::create_directory(elsewhere);
  fs::rename(d, root_ / "moved");
  fs::create_directory_symlink(elsewhere, d);
  ASSERT_TRUE(dir->write_file("verdict.json", "{}\n").ok());
  auto streamed = dir->replace("results.json");
  ASSERT_TRUE(streamed.ok()) << streamed.error().message;
  streamed->write("[");
  streamed->write("]");
  ASSERT_TRUE(streamed->commit().ok());
  auto sub = dir->open_subdir("01-svc");
  ASSERT_TRUE(sub.ok()) << sub.error().message;
  EXPECT_TRUE(sub->created());
  ASSERT_TRUE(sub->write_file("verdict.json", "{}\n").ok());
  EXPECT_TRUE(fs::is_empty(elsewhere));
  EXPECT_TRUE(fs::exists(root_ / "moved" / "verdict.json"));
  EXPECT_TRUE(fs::exists(root_ / "moved" / "results.json"));
  EXPECT_EQ(fs::directory_entry(root_ / "moved" / "results.json").file_size(), 2u);
  EXPECT_TRUE(fs::exists(root_ / "moved" / "01-svc" / "verdict.json"));
  EXPECT_EQ(fs::status(root_ / "moved" / "01-svc").permissions() & fs::perms::all,
            fs::perms::owner_all);
  // Inside it: a planted link to a directory, and one writable by others, are refused.
  auto moved = OutputDir::open((root_ / "moved").string(), ExistingDir::kAccept);
  ASSERT_TRUE(moved.ok()) << moved.error().message;
  fs::create_directory_symlink(elsewhere, root_ / "moved" / "02-link");
  auto link = moved->open_subdir("02-link");
  ASSERT_FALSE(link.ok());
  EXPECT_NE(link.error().message.find("symbolic link"), std::string::npos) << link.error().message;
  fs::create_directory(root_ / "moved" / "03-open");
  fs::permissions(root_ / "moved" / "03-open", fs::perms::all);
  auto open = moved->open_subdir("03-open");
  ASSERT_FALSE(open.ok());
  EXPECT_NE(open.error().message.find("writable by every user"), std::string::npos);
  if (::geteuid() == 0) {
    fs::create_directory(root_ / "moved" / "04-foreign");
    ASSERT_EQ(::chown((root_ / "moved" / "04-foreign").c_str(), 65534, 65534), 0);
    auto foreign = moved->open_subdir("04-foreign");
    ASSERT_FALSE(foreign.ok());
    EXPECT_NE(foreign.error().message.find("uid 65534"), std::string::npos);
  }
  EXPECT_FALSE(moved->open_subdir("..").ok());
  EXPECT_TRUE(fs::is_empty(elsewhere));
  EXPECT_EQ(victim_text(), "precious");
}

// The one "write all, fsync, close, rename, fsync the directory" (ReplacedFile), whichever way
// it is reached: a write that fails part way (the file-size limit, EFBIG) is one line naming the
// file, the old file stays whole and no temporary is left; a file dropped uncommitted leaves
// nothing; exact_mode sets the mode whatever the umask; a durable write lands like any other.
TEST_F(OutputDirTest, ReplacedFilesLeaveTheOldFileOrTheWholeNewOneNeverATemporary) {
  auto dir = OutputDir::open((root_ / "out").string(), ExistingDir::kAccept);
  ASSERT_TRUE(dir.ok()) << dir.error().message;
  ASSERT_TRUE(dir->write_file("cell.json", "old\n", {.durable = true}).ok());
  ASSERT_TRUE(write_file_atomic(dir->path() + "/plain.json", "old\n").ok());
  const auto text = [&](const char* name) {
    std::ifstream in(root_ / "out" / name);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  };
  EXPECT_EQ(text("cell.json"), "old\n");

  {  // the file-size limit: writes past it fail with EFBIG (SIGXFSZ ignored)
    struct sigaction ignore {
    }, before{};
    ignore.sa_handler = SIG_IGN;
    ASSERT_EQ(::sigaction(SIGXFSZ, &ignore, &before), 0);
    rlimit was{};
    ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &was), 0);
    rlimit small = was;
    small.rlim_cur = 4096;
    ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &small), 0);
    const std::string big(3 * 4096, 'x');
    const auto durable = dir->write_file("cell.json", big, {.durable = true});
    const auto atomic = write_file_atomic(dir->path() + "/plain.json", big);
    auto streamed = dir->replace("results.json");
    std::optional<Status> streamed_commit;
    if (streamed) {
      for (int i = 0; i < 3; ++i) streamed->write(std::string(4096, 'y'));
      streamed_commit = streamed->commit();
    }
    ::setrlimit(RLIMIT_FSIZE, &was);
    ::sigaction(SIGXFSZ, &before, nullptr);
    ASSERT_FALSE(durable.ok());
    EXPECT_EQ(durable.error().message,
              "cannot write " + dir->path() + "/cell.json: " + std::strerror(EFBIG));
    ASSERT_FALSE(atomic.ok());
    EXPECT_EQ(atomic.error().message,
              "cannot write " + dir->path() + "/plain.json: " + std::strerror(EFBIG));
    ASSERT_TRUE(streamed.ok()) << streamed.error().message;
    ASSERT_TRUE(streamed_commit && !streamed_commit->ok());
    EXPECT_EQ(streamed_commit->error().message,
              "cannot write " + dir->path() + "/results.json: " + std::strerror(EFBIG));
  }
  EXPECT_EQ(text("cell.json"), "old\n");
  EXPECT_EQ(text("plain.json"), "old\n");
  EXPECT_EQ(dir->entries(), (std::vector<std::string>{"cell.json", "plain.json"}));

  {  // dropped before commit: its temporary goes with it
    auto dropped = dir->replace("dropped.json");
    ASSERT_TRUE(dropped.ok()) << dropped.error().message;
    dropped->write("half");
  }
  EXPECT_EQ(dir->entries(), (std::vector<std::string>{"cell.json", "plain.json"}));

  const mode_t mask = ::umask(0177);  // would take the owner's x bit of 0700
  const auto script = dir->write_file("task.sh", "#!/bin/sh\n", {.mode = 0700, .exact_mode = true});
  const auto masked = dir->write_file("masked.sh", "#!/bin/sh\n", {.mode = 0700});
  ::umask(mask);
  ASSERT_TRUE(script.ok()) << script.error().message;
  ASSERT_TRUE(masked.ok()) << masked.error().message;
  struct stat st {};
  ASSERT_EQ(::stat((root_ / "out" / "task.sh").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  ASSERT_EQ(::stat((root_ / "out" / "masked.sh").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

// A reader never waits on a FIFO nobody writes, never reads a device without end, never takes a
// directory for an empty file: refused in one line naming the path and what it is.
TEST_F(OutputDirTest, InputFilesAreRegularFilesOnly) {
  const std::string fifo = root_ / "fifo";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  auto r = read_file(fifo);  // before: blocked in open(2) for a writer
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "cannot read " + fifo + ": a FIFO, not a regular file");
  auto z = read_file("/dev/zero");  // before: grew until memory ran out
  ASSERT_FALSE(z);
  EXPECT_EQ(z.error().message, "cannot read /dev/zero: a character device, not a regular file");
  auto d = read_file(root_.string());  // before: "" (an empty file)
  ASSERT_FALSE(d);
  EXPECT_EQ(d.error().message,
            "cannot read " + root_.string() + ": a directory, not a regular file");
  auto j = read_json_file(fifo, 1 << 20);
  ASSERT_FALSE(j);
  EXPECT_EQ(j.error().message, "cannot read " + fifo + ": a FIFO, not a regular file");
  auto missing = read_file((root_ / "none").string());
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().message,
            "cannot read " + (root_ / "none").string() + ": No such file or directory");
  auto ok = read_file(victim_.string());
  ASSERT_TRUE(ok);
  EXPECT_EQ(*ok, "precious");
}

// OutputDir::read_file reads relative to the directory's fd: absent is nullopt, a link is
// refused (never followed to the file it names), a FIFO refused without waiting, a file past
// the bound refused.
TEST_F(OutputDirTest, ReadFileFollowsNoLinkAndReadsRegularFilesOnly) {
  auto d = OutputDir::open((root_ / "d").string(), ExistingDir::kAccept);
  ASSERT_TRUE(d) << d.error().message;
  auto none = d->read_file("verdict.json", 1 << 20, "a JSON document");
  ASSERT_TRUE(none) << none.error().message;
  EXPECT_FALSE(none->has_value());
  ASSERT_TRUE(d->write_file("verdict.json", "{}"));
  auto ok = d->read_file("verdict.json", 1 << 20, "a JSON document");
  ASSERT_TRUE(ok) << ok.error().message;
  EXPECT_EQ(ok->value_or("?"), "{}");
  fs::create_symlink(victim_, root_ / "d" / "link");
  auto link = d->read_file("link", 1 << 20, "a JSON document");
  ASSERT_FALSE(link);
  EXPECT_EQ(link.error().message, d->path() + "/link is a symbolic link: not followed");
  ASSERT_EQ(::mkfifo((root_ / "d" / "fifo").c_str(), 0600), 0);
  auto fifo = d->read_file("fifo", 1 << 20, "a JSON document");
  ASSERT_FALSE(fifo);
  EXPECT_EQ(fifo.error().message, "cannot read " + d->path() + "/fifo: a FIFO, not a regular file");
  auto big = d->read_file("verdict.json", 1, "a JSON document");
  ASSERT_FALSE(big);
  EXPECT_NE(big.error().message.find("the limit for a JSON document (not read)"), std::string::npos)
      << big.error().message;
  auto bad = d->read_file("../victim", 1 << 20, "a JSON document");
  EXPECT_FALSE(bad);
}

// A scratch directory a killed process left (make_fresh_subdir, then SIGKILL) is removed by the
// next one that looks (remove_stale_scratch); nothing it did not make is: a directory without a
// mark, one whose maker runs, a mark that is a link, a mark of another boot, a marked name
// that is a link.
TEST_F(OutputDirTest, StaleScratchOfAKilledMakerIsRemovedAndNothingElse) {
  auto d = OutputDir::open((root_ / "cells").string(), ExistingDir::kAccept);
  ASSERT_TRUE(d) << d.error().message;
  // A child makes one and is killed by SIGKILL before it can remove it.
  int ready[2];
  ASSERT_EQ(::pipe(ready), 0);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    auto w = d->make_fresh_subdir("warmup");
    if (w) ::close(::openat(w->fd(), "left", O_WRONLY | O_CREAT | O_CLOEXEC, 0600));
    char c = w ? 'y' : 'n';
    (void)!::write(ready[1], &c, 1);
    ::pause();
    ::_exit(0);
  }
  ::close(ready[1]);
  char c = 0;
  ASSERT_EQ(::read(ready[0], &c, 1), 1);
  ::close(ready[0]);
  ASSERT_EQ(c, 'y');
  ASSERT_EQ(::kill(child, SIGKILL), 0);
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  std::string stale;
  for (const auto& n : d->entries())
    if (n.rfind("warmup.", 0) == 0) stale = n;
  ASSERT_FALSE(stale.empty());
  const std::string stale_mark = "." + stale + ".arenalab-scratch";
  ASSERT_TRUE(fs::is_regular_file(root_ / "cells" / stale_mark));
  std::string mark_text;
  std::getline(std::ifstream(root_ / "cells" / stale_mark), mark_text);
  // This process's own, in use.
  auto mine = d->make_fresh_subdir("preflight");
  ASSERT_TRUE(mine) << mine.error().message;
  const std::string mine_name = fs::path(mine->path()).filename().string();
  // A directory with no mark (the user's, or one of a version without marks).
  fs::create_directory(root_ / "cells" / "warmup.0000000000000000");
  // The dead maker's mark, copied: as a link to it, of another boot, naming a link.
  fs::create_directory(root_ / "cells" / "warmup.1111111111111111");
  fs::create_symlink(root_ / "cells" / stale_mark,
                     root_ / "cells" / ".warmup.1111111111111111.arenalab-scratch");
  fs::create_directory(root_ / "cells" / "warmup.2222222222222222");
  {
    std::string other = mark_text;
    const auto at = other.find(" boot ") + 6;
    other[at] = other[at] == '0' ? '1' : '0';
    std::ofstream(root_ / "cells" / ".warmup.2222222222222222.arenalab-scratch") << other << "\n";
  }
  fs::create_directory(root_ / "victimdir");
  std::ofstream(root_ / "victimdir" / "keep") << "precious";
  fs::create_directory_symlink(root_ / "victimdir", root_ / "cells" / "warmup.3333333333333333");
  std::ofstream(root_ / "cells" / ".warmup.3333333333333333.arenalab-scratch") << mark_text << "\n";
  // A FIFO as a mark: left, never opened. Empty marks (a maker killed between the mark's
  // create and its write): one older than a minute with no directory is removed; a young one
  // (its maker may be between the two) and an old one beside a directory are left.
  ASSERT_EQ(::mkfifo((root_ / "cells" / ".warmup.4444444444444444.arenalab-scratch").c_str(), 0600),
            0);
  const timespec old_times[2] = {{::time(nullptr) - 120, 0}, {::time(nullptr) - 120, 0}};
  for (const char* hex : {"5555555555555555", "6666666666666666", "7777777777777777"}) {
    const fs::path m = root_ / "cells" / (std::string(".warmup.") + hex + ".arenalab-scratch");
    std::ofstream{m};
    if (hex[0] != '6') ASSERT_EQ(::utimensat(AT_FDCWD, m.c_str(), old_times, 0), 0);
  }
  fs::create_directory(root_ / "cells" / "warmup.7777777777777777");

  auto removed = d->remove_stale_scratch();
  ASSERT_TRUE(removed) << removed.error().message;
  EXPECT_EQ(*removed, std::vector<std::string>{stale});
  EXPECT_FALSE(fs::exists(root_ / "cells" / stale));
  EXPECT_FALSE(fs::exists(root_ / "cells" / stale_mark));
  EXPECT_TRUE(fs::is_directory(root_ / "cells" / mine_name));
  EXPECT_TRUE(fs::is_regular_file(root_ / "cells" / ("." + mine_name + ".arenalab-scratch")));
  EXPECT_TRUE(fs::is_directory(root_ / "cells" / "warmup.0000000000000000"));
  EXPECT_TRUE(fs::is_directory(root_ / "cells" / "warmup.1111111111111111"));
  EXPECT_TRUE(fs::is_directory(root_ / "cells" / "warmup.2222222222222222"));
  EXPECT_TRUE(fs::is_symlink(root_ / "cells" / "warmup.3333333333333333"));
  EXPECT_TRUE(fs::is_regular_file(root_ / "victimdir" / "keep"));
  EXPECT_FALSE(fs::exists(root_ / "cells" / ".warmup.5555555555555555.arenalab-scratch"));
  EXPECT_TRUE(fs::is_regular_file(root_ / "cells" / ".warmup.6666666666666666.arenalab-scratch"));
  EXPECT_TRUE(fs::is_regular_file(root_ / "cells" / ".warmup.7777777777777777.arenalab-scratch"));
  EXPECT_TRUE(fs::is_directory(root_ / "cells" / "warmup.7777777777777777"));
  EXPECT_EQ(fs::status(root_ / "cells" / ".warmup.4444444444444444.arenalab-scratch").type(),
            fs::file_type::fifo);
  // Removed as made: the directory and its mark.
  ASSERT_TRUE(d->remove_subdir(mine_name));
  EXPECT_FALSE(fs::exists(root_ / "cells" / mine_name));
  EXPECT_FALSE(fs::exists(root_ / "cells" / ("." + mine_name + ".arenalab-scratch")));
}

TEST(Text, Utf8EscapedKeepsValidTextAndNamesInvalidBytes) {
  EXPECT_EQ(utf8_escaped("caf\xc3\xa9 \xe2\x82\xac"), "caf\xc3\xa9 \xe2\x82\xac");
  EXPECT_EQ(utf8_escaped("\xff\xfe"), "\\xff\\xfe");
  EXPECT_EQ(utf8_escaped("a\xc3"), "a\\xc3");                  // cut sequence
  EXPECT_EQ(utf8_escaped("\xc0\xaf"), "\\xc0\\xaf");           // overlong
  EXPECT_EQ(utf8_escaped("\xed\xa0\x80"), "\\xed\\xa0\\x80");  // surrogate
}

}  // namespace
}  // namespace arenalab
