// tp_stream_checker: simulation-only checker of the valid/ready rules of one
// stream (AXI4-Stream, PULP common_cells): once valid is high, valid and data
// hold until the beat moves (an edge where valid && ready).
//
// Connect it to the stream's wires on either side of a block; it drives
// nothing. Immediate assertions, evaluated by Verilator with --assert, compare
// each edge with the last one and report with $error naming the stream
// (Name), e.g. "tp_silu in: data changed while valid && !ready".
// Instantiate it inside `ifndef SYNTHESIS, like every assertion: synthesis
// sees none of its logic (Yosys 0.23 parses neither `assert ... else` nor a
// `string` parameter, hence the untyped Name), and its expectation
// (tp_stream_checker.synth.json) is "simulation_only": an empty netlist.
module tp_stream_checker #(
  parameter int unsigned Width = 1,        // data bits per beat (>= 1): every field that must hold
  // Name is only read by the assertion messages, which the synthesis view lacks.
  /* verilator lint_off UNUSEDPARAM */
  parameter              Name  = "stream"  // stream name in the messages, e.g. "tp_silu out"
  /* verilator lint_on UNUSEDPARAM */
) (
  input logic             clk_i,
  input logic             rst_ni,   // synchronous reset, active low: no check while low
  input logic             valid_i,
  input logic             ready_i,
  input logic [Width-1:0] data_i
);

`ifndef SYNTHESIS
  logic             stall_q;  // at the last edge: valid && !ready
  logic [Width-1:0] data_q;   // data_i at the last edge

  always_ff @(posedge clk_i) begin
    if (!rst_ni) begin
      stall_q <= 1'b0;
    end else begin
      stall_q <= valid_i & ~ready_i;
    end
    data_q <= data_i;
  end

  always_ff @(posedge clk_i) begin
    if (rst_ni && stall_q) begin
      assert (valid_i)
        else $error("%s: valid dropped while valid && !ready", Name);
      assert (data_i == data_q)
        else $error("%s: data changed while valid && !ready", Name);
    end
  end
`else
  // Nothing to synthesize; this keeps the module non-empty (Yosys would make
  // an empty one a blackbox) and its inputs read for lint, and maps to no cell.
  logic unused_inputs;
  assign unused_inputs = ^{clk_i, rst_ni, valid_i, ready_i, data_i};
`endif

endmodule
