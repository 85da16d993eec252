// SPDX-License-Identifier: Apache-2.0
// The Slurm engine: submission and task states (slurm.h).
#include "arenalab/matrix/slurm.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <ctime>
#include <filesystem>
#include <set>
#include <sstream>

#include "arenalab/core/files.h"
#include "arenalab/core/process.h"
#include "arenalab/formats/json.h"

namespace arenalab::matrix {

Result<std::vector<std::string>> split_words(const std::string& text) {
  std::vector<std::string> out;
  std::string word;
  bool in_word = false;
  char quote = 0;
  for (char ch : text) {
    if (quote) {
      if (ch == quote)
        quote = 0;
      else
        word += ch;
    } else if (ch == '\'' || ch == '"') {
      quote = ch;
      in_word = true;
    } else if (ch == ' ' || ch == '\t' || ch == '\n') {
      if (in_word) out.push_back(std::move(word));
      word.clear();
      in_word = false;
    } else {
      word += ch;
      in_word = true;
    }
  }
  if (quote) return make_error(std::string("unterminated ") + quote + " in \"" + text + "\"");
  if (in_word) out.push_back(std::move(word));
  return out;
}

std::string array_spec(const std::vector<std::size_t>& indices, int max_parallel) {
  std::string spec;
  for (std::size_t i = 0; i < indices.size();) {
    std::size_t j = i;
    while (j + 1 < indices.size() && indices[j + 1] == indices[j] + 1) ++j;
    if (!spec.empty()) spec += ",";
    spec += j == i ? std::to_string(indices[i])
                   : std::to_string(indices[i]) + "-" + std::to_string(indices[j]);
    i = j + 1;
  }
  if (max_parallel > 0) spec += "%" + std::to_string(max_parallel);
  return spec;
}

namespace {

// A word for /bin/sh, single-quoted.
std::string sh_quote(const std::string& s) {
  std::string out = "'";
  for (char ch : s) out += ch == '\'' ? std::string("'\\''") : std::string(1, ch);
  return out + "'";
}

// `text` as the script `name` of `dir` (OutputDir::write_file: a new temporary, O_EXCL|O_NOFOLLOW
// under an unpredictable name relative to the directory's fd, renamed into place), made
// executable by its owner alone whatever the umask (0700 through its fd: sbatch runs it as the
// submitting user); a link planted as task.sh or merge.sh is replaced, never written through.
Status write_script(const OutputDir& dir, const std::string& name, const std::string& text) {
  return dir.write_file(name, text, {.mode = 0700, .exact_mode = true});
}

// A tool's stderr on one line: its lines joined with "; " (Slurm's tools print several).
std::string one_line(const std::string& text) {
  std::string out, line;
  std::istringstream in(text);
  while (std::getline(in, line))
    if (!line.empty()) out += (out.empty() ? "" : "; ") + line;
  return out;
}

// Runs one of Slurm's tools and returns what it printed; a failure names the tool, how it
// ended and its stderr (else its stdout) on one line.
Result<std::string> run_query(const std::vector<std::string>& argv) {
  SpawnSpec spec;
  spec.argv = argv;
  spec.capture_stdout = true;
  spec.capture_stderr = true;
  spec.stdin_null = true;
  auto r = run_process(spec);
  if (!r) return make_error(argv[0] + ": " + r.error().message);
  if (r->shell_status() != 0) {
    const std::string& said = r->err.empty() ? r->out : r->err;
    return make_error(argv[0] + " " + r->describe() + (said.empty() ? "" : ": " + one_line(said)));
  }
  return r->out;
}

// Runs sbatch --parsable ...; returns the job id it prints ("123" or "123;cluster").
Result<std::string> sbatch(const std::vector<std::string>& argv) {
  auto r = run_query(argv);
  if (!r) return r;
  std::string out = *r;
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  if (out.empty()) return make_error(argv[0] + " printed no job id");
  const auto semi = out.find(';');
  return out.substr(0, semi);
}

std::string utc_now() {
  const std::time_t now = std::time(nullptr);
  char buf[64];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&now));
  return buf;
}

// "4-6%2", "3", "1,3-4": the indices.
std::vector<std::size_t> parse_ranges(std::string text) {
  std::vector<std::size_t> out;
  text = text.substr(0, text.find('%'));
  std::stringstream ss(text);
  std::string part;
  while (std::getline(ss, part, ',')) {
    const auto dash = part.find('-');
    char* end = nullptr;
    const unsigned long a = std::strtoul(part.c_str(), &end, 10);
    if (end == part.c_str()) continue;
    unsigned long b = a;
    if (dash != std::string::npos) b = std::strtoul(part.c_str() + dash + 1, nullptr, 10);
    for (unsigned long i = a; i <= b && i - a < 1000000; ++i) out.push_back(i);
  }
  return out;
}

}  // namespace

Result<SlurmSubmission> submit_slurm(const CellPlan& plan, const std::vector<std::size_t>& groups,
                                     const SlurmOptions& opt) {
  if (groups.empty()) return make_error("no group to submit");
  // OUT/slurm and OUT/slurm/exit made 0700 (or existing ones checked: real directories, this
  // user's, not group/world-writable), each opened relative to its parent's fd; the scripts and
  // jobs.json are written relative to them, never by a path looked up again.
  auto out = OutputDir::open(plan.out_dir, ExistingDir::kAccept);
  if (!out) return out.error();
  auto slurm_dir = out->open_subdir("slurm");
  if (!slurm_dir) return slurm_dir.error();
  if (auto exit_dir = slurm_dir->open_subdir("exit"); !exit_dir) return exit_dir.error();
  const std::string dir = slurm_dir->path();
  const std::string plan_file = plan.out_dir + "/" + kPlanName;
  // The task: one group; its exit (or the signal Slurm sent it) recorded for --merge when
  // neither sacct nor scontrol can tell any more.
  const std::string task = fmt::format(
      "#!/bin/sh\n"
      "# arenalab matrix: one Slurm array task runs one group of {plan} (one workload's\n"
      "# configurations in order, on this node). Written by arenalab matrix --engine slurm.\n"
      "g=${{SLURM_ARRAY_TASK_ID:?not a Slurm array task}}\n"
      "rec={exit}/\"${{SLURM_ARRAY_JOB_ID}}_$g\"\n"
      "trap 'echo \"signal TERM (scancel, preemption or time limit)\" > \"$rec\"; "
      "kill -TERM $pid 2>/dev/null; exit 143' TERM\n"
      "{arenalab} matrix --cell {planq} \"$g\" &\n"
      "pid=$!\n"
      "wait $pid\n"
      "rc=$?\n"
      "echo \"exit $rc\" > \"$rec\"\n"
      "exit $rc\n",
      fmt::arg("plan", plan_file), fmt::arg("exit", sh_quote(dir + "/exit")),
      fmt::arg("arenalab", sh_quote(opt.arenalab)), fmt::arg("planq", sh_quote(plan_file)));
  const std::string merge = fmt::format(
      "#!/bin/sh\n"
      "# arenalab matrix: merges the cell records of {out} once the array has ended.\n"
      "exec {arenalab} matrix --merge {outq}\n",
      fmt::arg("out", plan.out_dir), fmt::arg("arenalab", sh_quote(opt.arenalab)),
      fmt::arg("outq", sh_quote(plan.out_dir)));
  if (auto s = write_script(*slurm_dir, "task.sh", task); !s) return s.error();
  if (auto s = write_script(*slurm_dir, "merge.sh", merge); !s) return s.error();

  std::vector<std::string> common;
  if (!opt.partition.empty()) common.push_back("--partition=" + opt.partition);
  std::vector<std::string> array = {opt.sbatch, "--parsable", "--job-name=arenalab-matrix",
                                    "--array=" + array_spec(groups, opt.max_parallel),
                                    "--output=" + dir + "/task-%A_%a.log"};
  if (opt.exclusive) array.push_back("--exclusive");
  array.insert(array.end(), common.begin(), common.end());
  array.insert(array.end(), opt.extra.begin(), opt.extra.end());
  array.push_back(dir + "/task.sh");
  auto job = sbatch(array);
  if (!job) return job.error();
  SlurmSubmission sub;
  sub.array_job = *job;
  sub.groups = groups;
  sub.sbatch = array;
  sub.submitted_at = utc_now();
  std::vector<std::string> after = {opt.sbatch, "--parsable", "--job-name=arenalab-merge",
                                    "--dependency=afterany:" + *job,
                                    "--output=" + dir + "/merge-%j.log"};
  after.insert(after.end(), common.begin(), common.end());
  after.insert(after.end(), opt.extra.begin(), opt.extra.end());
  after.push_back(dir + "/merge.sh");
  auto merge_job = sbatch(after);
  std::string merge_error;
  if (merge_job)
    sub.merge_job = *merge_job;
  else
    merge_error = merge_job.error().message;
  // Recorded even when the merge job failed: the array runs, and --merge merges by hand.
  SlurmJobs jobs;
  const std::string jobs_path = dir + "/jobs.json";
  if (std::filesystem::exists(jobs_path)) {
    auto old = read_slurm_jobs(jobs_path);
    if (!old) return old.error();
    jobs = std::move(*old);
  }
  jobs.submissions.push_back(sub);
  if (auto s = slurm_dir->write_file("jobs.json", formats::document_text(slurm_jobs_to_json(jobs)));
      !s)
    return s.error();
  if (!merge_error.empty())
    return make_error("array job " + *job + " submitted, but its merge job was not (" +
                      merge_error + "): run arenalab matrix --merge " + plan.out_dir +
                      " when it ends");
  return sub;
}

TaskStates parse_sacct(const std::string& text, const std::string& job) {
  TaskStates out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    std::vector<std::string> f;
    std::stringstream ss(line);
    std::string field;
    while (std::getline(ss, field, '|')) f.push_back(field);
    if (f.size() < 3) continue;
    const std::string& id = f[0];
    if (id.rfind(job + "_", 0) != 0) continue;
    std::string idx = id.substr(job.size() + 1);
    if (!idx.empty() && idx.front() == '[') idx = idx.substr(1, idx.find(']') - 1);
    for (std::size_t g : parse_ranges(idx)) {
      TaskState t;
      t.task = job + "_" + std::to_string(g);
      t.state = f[1];
      t.exit_code = f[2];
      t.reason = f.size() > 3 ? f[3] : "";
      t.source = "sacct";
      out[g] = t;
    }
  }
  return out;
}

TaskStates parse_scontrol(const std::string& text, const std::string& job) {
  TaskStates out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    std::map<std::string, std::string> kv;
    std::stringstream ss(line);
    std::string word;
    while (ss >> word) {
      const auto eq = word.find('=');
      if (eq != std::string::npos) kv.emplace(word.substr(0, eq), word.substr(eq + 1));
    }
    if (kv["ArrayJobId"] != job || kv.count("ArrayTaskId") == 0) continue;
    for (std::size_t g : parse_ranges(kv["ArrayTaskId"])) {
      TaskState t;
      t.task = job + "_" + std::to_string(g);
      t.state = kv["JobState"];
      t.exit_code = kv["ExitCode"];
      t.reason = kv["Reason"];
      t.source = "scontrol";
      out[g] = t;
    }
  }
  return out;
}

namespace {

// Groups of `sub` Slurm knows nothing of, from the task scripts' exit records.
void from_exit_records(const std::string& out_dir, const SlurmSubmission& sub, TaskStates& out) {
  for (std::size_t g : sub.groups) {
    const std::string task = sub.array_job + "_" + std::to_string(g);
    auto text = read_file(out_dir + "/slurm/exit/" + task);
    if (!text) continue;
    std::string t = *text;
    while (!t.empty() && t.back() == '\n') t.pop_back();
    TaskState st;
    st.task = task;
    st.source = "exit record";
    st.reason = "task script: " + t;
    if (t == "exit 0") {
      st.state = "COMPLETED";
    } else if (t.rfind("signal", 0) == 0) {
      st.state = "CANCELLED";
    } else {
      st.state = "FAILED";
      st.exit_code = t.rfind("exit ", 0) == 0 ? t.substr(5) + ":0" : "";
    }
    out[g] = st;
  }
}

}  // namespace

TaskQuery query_slurm_tasks(const std::string& out_dir, const SlurmJobs& jobs) {
  TaskQuery q;
  std::set<std::string> sources;
  for (const auto& sub : jobs.submissions) {
    TaskStates states;
    auto acct = run_query(
        {"sacct", "-j", sub.array_job, "-X", "-n", "-P", "-o", "JobID,State,ExitCode,Reason"});
    if (acct) states = parse_sacct(*acct, sub.array_job);
    if (!acct || states.empty()) {
      if (!acct) q.notes.push_back("sacct: " + acct.error().message);
      auto ctl = run_query({"scontrol", "-o", "show", "job", sub.array_job});
      if (ctl)
        states = parse_scontrol(*ctl, sub.array_job);
      else
        q.notes.push_back("scontrol: " + ctl.error().message);
    }
    // Groups neither knows (a job slurmctld has forgotten): the task's own exit record.
    TaskStates records;
    from_exit_records(out_dir, sub, records);
    for (auto& [g, st] : records) states.emplace(g, st);
    for (std::size_t g : sub.groups) {
      auto it = states.find(g);
      if (it == states.end()) continue;
      sources.insert(it->second.source);
      q.states[g] = it->second;  // a later submission replaces an earlier one
    }
  }
  for (const auto& s : sources) q.source += (q.source.empty() ? "" : ", ") + s;
  return q;
}

}  // namespace arenalab::matrix
