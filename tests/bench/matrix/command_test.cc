// SPDX-License-Identifier: Apache-2.0
// --command NAME='CMD ARGS': words split as a shell quotes them (without a shell), and the
// names a command workload may have.
#include <gtest/gtest.h>

#include "arenalab/matrix/matrix.h"

namespace arenalab::matrix {
namespace {

using Words = std::vector<std::string>;

TEST(SplitCommand, QuotesAsAShellWould) {
  EXPECT_EQ(*split_command("sqlite3 :memory: '.read /tmp/a b.sql'"),
            (Words{"sqlite3", ":memory:", ".read /tmp/a b.sql"}));
  EXPECT_EQ(*split_command("  python3\t-c  \"print(\\\"x\\\")\" "),
            (Words{"python3", "-c", "print(\"x\")"}));
  EXPECT_EQ(*split_command(R"(a\ b "c\d" 'e\f' x""y '')"),
            (Words{"a b", "c\\d", "e\\f", "xy", ""}));
  EXPECT_EQ(*split_command("echo $HOME *"), (Words{"echo", "$HOME", "*"}));  // no expansion
}

TEST(SplitCommand, RejectsUnterminatedQuotesAndNothing) {
  EXPECT_FALSE(split_command("sh -c 'exit 1"));
  EXPECT_FALSE(split_command("say \"hi"));
  EXPECT_FALSE(split_command("   "));
  EXPECT_FALSE(split_command("''"));
}

TEST(CommandWorkload, NameAndCommand) {
  auto w = parse_command_workload("py.job-1=python3 job.py --n 3");
  ASSERT_TRUE(w) << w.error().message;
  EXPECT_EQ(w->name, "py.job-1");
  EXPECT_EQ(w->category, "command");
  EXPECT_EQ(w->command, (Words{"python3", "job.py", "--n", "3"}));
  EXPECT_FALSE(w->threads_flag);
  for (const char* bad : {"noequals", "=true", "a/b=true", "..=true", "x=", "x='open"})
    EXPECT_FALSE(parse_command_workload(bad)) << bad;
}

}  // namespace
}  // namespace arenalab::matrix
