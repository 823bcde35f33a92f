// ProfileReport.cpp: per-node medians of profiled forward calls.
#include "tools/ProfileReport.h"

#include "ir/ImageParallel.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <map>

namespace seq::tools {

namespace {

double median(std::vector<double> values) {
  if (values.empty())
    return 0;
  std::sort(values.begin(), values.end());
  size_t n = values.size();
  return n % 2 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

// "conv2d 3x3/2 dw", "linear", "max_pool2d", ...
std::string opLabel(const ir::Graph &g, const ir::Node &node) {
  std::string label = ir::name(node.kind);
  if (node.kind == ir::OpKind::Conv2d || node.kind == ir::OpKind::ConvTranspose2d) {
    const ir::Attrs &a = node.attrs;
    label += fmt::format(" {}x{}", a.kernel[0], a.kernel[1]);
    if (a.stride[0] != 1 || a.stride[1] != 1)
      label += a.stride[0] == a.stride[1] ? fmt::format("/{}", a.stride[0])
                                          : fmt::format("/{}x{}", a.stride[0], a.stride[1]);
    int64_t C = g.value(node.inputs.at(0)).shape.dims.at(1);
    if (a.groups > 1)
      label += a.groups == C ? " dw" : fmt::format(" g{}", a.groups);
  }
  return label;
}

std::string shapeLabel(const ir::Shape &shape, int64_t batch) {
  std::vector<int64_t> dims = shape.dims;
  if (shape.batched() && !dims.empty())
    dims[0] = batch;
  return fmt::format("[{}]", fmt::join(dims, ", "));
}

std::string truncated(std::string text, size_t width) {
  if (text.size() > width)
    text = text.substr(0, width - 3) + "...";
  return text;
}

} // namespace

void printProfile(std::ostream &out, const ir::Graph &g, const ProfileRun &run, const SourceManager &sources) {
  // Each call's time per node: from its mark to the next one.
  const size_t nodes = g.nodes.size();
  std::vector<std::vector<double>> times(nodes);
  std::vector<double> totals;
  for (const std::vector<codegen::ProfileMark> &marks : run.calls) {
    if (marks.size() < 2)
      continue;
    std::vector<double> call(nodes, 0.0);
    for (size_t k = 0; k + 1 < marks.size(); ++k)
      if (marks[k].node >= 0 && size_t(marks[k].node) < nodes)
        call[size_t(marks[k].node)] += double(marks[k + 1].ns - marks[k].ns);
    for (size_t i = 0; i < nodes; ++i)
      times[i].push_back(call[i]);
    totals.push_back(double(marks.back().ns - marks.front().ns));
  }
  const double total = median(totals);

  // A node fused into another runs inside it: its name goes on that row.
  std::vector<std::string> names(nodes);
  std::vector<double> macs(nodes, 0.0);
  for (size_t i = 0; i < nodes; ++i) {
    const ir::Node &node = g.nodes[i];
    size_t row = i;
    while (g.nodes[row].fusedInto >= 0)
      row = size_t(g.nodes[row].fusedInto);
    std::string name = node.name;
    if (name.empty() && node.loc.valid()) {
      LineColumn lc = sources.lineColumn(node.loc.file, node.loc.begin);
      name = fmt::format("(line {})", lc.line);
    }
    if (name.empty())
      name = fmt::format("%{}", node.output);
    if (node.kind != ir::OpKind::Input)
      names[row] = names[row].empty() ? name : names[row] + " + " + name;
    const bool batched = g.value(node.output).shape.batched();
    macs[row] += double(ir::nodeMacsPerImage(g, node)) * double(batched ? run.batch : 1);
  }

  out << fmt::format("profile of {}: batch {}, {} thread{}, median of {} call{}: {:.3f} ms a call\n", run.model,
                     run.batch, run.threads, run.threads == 1 ? "" : "s", totals.size(),
                     totals.size() == 1 ? "" : "s", total / 1e6);
  out << fmt::format("  {:>5}  {:<40}  {:<20}  {:<20}  {:>10}  {:>6}  {:>8}\n", "node", "layer", "op", "output",
                     "us", "share", "GFLOP/s");
  std::map<std::string, double> byOp;
  for (size_t i = 0; i < nodes; ++i) {
    const ir::Node &node = g.nodes[i];
    if (node.kind == ir::OpKind::Input || node.fusedInto >= 0)
      continue;
    double t = median(times[i]);
    std::string op = opLabel(g, node);
    byOp[ir::name(node.kind)] += t;
    std::string flops = macs[i] > 0 && t > 0 ? fmt::format("{:.1f}", 2 * macs[i] / t) : "";
    std::string line = fmt::format("  {:>5}  {:<40}  {:<20}  {:<20}  {:>10.1f}  {:>5.1f}%  {:>8}",
                                   fmt::format("%{}", node.output), truncated(names[i], 40), op,
                                   shapeLabel(g.value(node.output).shape, run.batch), t / 1e3,
                                   total > 0 ? 100 * t / total : 0.0, flops);
    line.erase(line.find_last_not_of(' ') + 1);
    out << line << '\n';
  }
  std::vector<std::pair<double, std::string>> ops;
  for (auto &[op, t] : byOp)
    ops.emplace_back(t, op);
  std::sort(ops.rbegin(), ops.rend());
  std::vector<std::string> parts;
  for (auto &[t, op] : ops)
    parts.push_back(fmt::format("{} {:.1f}%", op, total > 0 ? 100 * t / total : 0.0));
  out << fmt::format("  by op: {}\n", fmt::join(parts, ", "));
}

} // namespace seq::tools
