// tp_residual_add: the residual adder, out = saturate_i32(x + y) per lane.
//
// Golden twin: tp::fx::add_residual (golden/int/int_model.cpp), i.e.
// tp::fx::saturate_i32 of the exact sum of two int32 Q16.16 values: a sum
// above 2^31 - 1 gives 2^31 - 1, one below -2^31 gives -2^31.
//
// Streams (valid/ready; data stable while valid && !ready):
//   x    the residual stream, read back from the activation buffer;
//   y    the matrix engine's output (Wo or W2 projection);
//   out  the new residual stream.
// Each beat carries Lanes int32 values, lane i at [i*32 +: 32].
// Join: a beat pair is taken only when both x and y present one and the
// output register is free (empty, or its beat leaves at this edge); x and y
// are always accepted at the same edge:
//   x_ready_o = y_valid_i & free,   y_ready_o = x_valid_i & free,
//   free      = ~out_valid_o | out_ready_i.
// Each ready depends combinationally on the other input's valid and on
// out_ready_i, never on its own valid; no valid depends on a ready, so there
// is no combinational loop as long as the neighbours keep the valid/ready rule
// (valid never waits for ready). Put a tp_stream_register in front of an
// input or behind the output to cut these paths where timing needs it.
//
// Timing: latency 1 cycle (a pair accepted at edge k is on out_* from edge k
// on and can leave at edge k+1; registered output); II = 1 beat per cycle
// while the sink is ready.
// Resources (Lanes = 4): per lane a 33-bit adder (CARRY8 chain), one LUT per
// output bit for the saturation and 32 data flops (clock enable, no reset);
// 1 valid flop with synchronous reset. No DSP, no memory.
module tp_residual_add #(
  parameter int unsigned Lanes = 4  // int32 values per beat on every stream (>= 1)
) (
  input  logic                  clk_i,
  input  logic                  rst_ni,       // synchronous reset, active low
  // Residual stream x (from the activation buffer).
  input  logic                  x_valid_i,
  output logic                  x_ready_o,    // = y_valid_i & output free (combinational)
  input  logic [Lanes*32-1:0]   x_data_i,     // lane i: int32 Q16.16 at [i*32 +: 32]
  // Projection y (from the matrix engine).
  input  logic                  y_valid_i,
  output logic                  y_ready_o,    // = x_valid_i & output free (combinational)
  input  logic [Lanes*32-1:0]   y_data_i,     // lane i: int32 Q16.16 at [i*32 +: 32]
  // Sum, 1 cycle after the pair is accepted.
  output logic                  out_valid_o,  // registered; low after reset
  input  logic                  out_ready_i,
  output logic [Lanes*32-1:0]   out_data_o    // registered; undefined while !out_valid_o
);

  // ------------------------------------------------------ parameter check ---
  if (Lanes == 0) begin : gen_lanes_check
    $error("tp_residual_add: Lanes must be >= 1");
  end

  // ------------------------------------------------------------- control ---
  logic out_free;  // the output register can take a beat at this edge
  logic fire;      // x and y beats move at this edge
  logic out_valid_q;

  assign out_free  = ~out_valid_q | out_ready_i;
  assign x_ready_o = y_valid_i & out_free;
  assign y_ready_o = x_valid_i & out_free;
  assign fire      = x_valid_i & y_valid_i & out_free;

  always_ff @(posedge clk_i) begin
    if (!rst_ni) begin
      out_valid_q <= 1'b0;
    end else if (out_free) begin
      out_valid_q <= fire;
    end
  end

  assign out_valid_o = out_valid_q;

  // ------------------------------------------------ datapath (no reset) ---
  for (genvar i = 0; i < Lanes; i++) begin : gen_lane
    logic signed [32:0] sum;     // exact sum: 33 bits never overflow
    logic        [31:0] sat;     // saturate_i32(sum)
    logic        [31:0] data_q;

    assign sum = $signed({x_data_i[i*32+31], x_data_i[i*32 +: 32]})
               + $signed({y_data_i[i*32+31], y_data_i[i*32 +: 32]});
    // The sum fits int32 unless its two top bits differ; then bit 32 is the sign.
    assign sat = (sum[32] == sum[31]) ? sum[31:0] : {sum[32], {31{~sum[32]}}};

    always_ff @(posedge clk_i) begin
      if (fire) begin
        data_q <= sat;
      end
    end

    assign out_data_o[i*32 +: 32] = data_q;
  end

  // ----------------------------------------------------------- assertions ---
  // Immediate assertions (Verilator --assert): the handshake rules of the
  // three ports, and x and y accepted at the same edge.
`ifndef SYNTHESIS
  tp_stream_checker #(.Width(Lanes*32), .Name("tp_residual_add x")) u_x_check (
    .clk_i, .rst_ni, .valid_i(x_valid_i), .ready_i(x_ready_o), .data_i(x_data_i)
  );
  tp_stream_checker #(.Width(Lanes*32), .Name("tp_residual_add y")) u_y_check (
    .clk_i, .rst_ni, .valid_i(y_valid_i), .ready_i(y_ready_o), .data_i(y_data_i)
  );
  tp_stream_checker #(.Width(Lanes*32), .Name("tp_residual_add out")) u_out_check (
    .clk_i, .rst_ni, .valid_i(out_valid_o), .ready_i(out_ready_i), .data_i(out_data_o)
  );

  always_ff @(posedge clk_i) begin
    if (rst_ni) begin
      assert (x_ready_o == y_ready_o || !(x_valid_i && y_valid_i))
        else $error("tp_residual_add: x and y accepted at different edges");
    end
  end
`endif

endmodule
