// tp_pe_column: one column of the matrix engine's PE array.
//
// Rows processing elements each multiply an int8 weight by an int8 activation
// (INT4 weights arrive sign-extended to 8 bits: W4A8 uses the same PE); a
// pipelined adder tree sums the Rows products, and a block register adds the
// 32 / Rows K-slices of one weight block into its exact int32 dot product d,
// the d_b of tp::fx::matvec (golden/int/quantize.h). |d| <= 32 * 127 * 127 =
// 516,128 fits the 21-bit result; no rounding happens here.
//
// No flow control: a slice enters on every cycle in_valid_i is high. The
// slices of one block enter on consecutive valid cycles, the first with
// in_first_i, the last with in_last_i (one slice: both).
//   latency   $clog2(Rows) + 2 cycles (= Latency): a slice sampled at edge k
//             reaches the block register at edge k + Latency - 1, so the
//             block's d is on out_dot_o, with out_valid_o, from that edge on,
//             for one cycle;
//   II        one slice per cycle.
// Stages: edge 1 the PE product registers (the DSP48E2 M register), edges
// 2 .. 1 + log2(Rows) the adder tree levels, then the block register.
//
// Resources: Rows DSP48E2 (one 8 x 8 multiply each), the tree adders in LUT +
// carry, ~(2 Rows - 1) x 21 + 21 flops.
module tp_pe_column #(
  parameter int unsigned Rows = 16  // PEs (input features per slice): power of two, 2 .. 32
) (
  input  logic                clk_i,
  input  logic                rst_ni,     // synchronous reset, active low (valid bits only)
  input  logic                in_valid_i,
  input  logic [Rows*8-1:0]   in_w_i,     // PE k's weight at [k*8 +: 8], int8 two's complement
  input  logic [Rows*8-1:0]   in_x_i,     // PE k's activation at [k*8 +: 8], int8
  input  logic                in_first_i, // first slice of a block
  input  logic                in_last_i,  // last slice of a block
  output logic                out_valid_o,
  output logic signed [20:0]  out_dot_o   // the block's dot product
);

  localparam int unsigned Levels  = $clog2(Rows);
  localparam int unsigned Latency = Levels + 2;
  localparam int unsigned SumW    = 21;  // every tree node: |sum| <= 32 * 127 * 128 < 2^20

  if (Rows < 2 || Rows > 32 || (Rows & (Rows - 1)) != 0) begin : gen_rows_check
    $error("tp_pe_column: Rows must be a power of two in [2, 32]");
  end

  // Tree nodes in heap order: node 1 the root, node i's children 2i and 2i+1,
  // the leaves Rows .. 2 Rows - 1 the PE product registers (PE k = leaf Rows + k).
  // Node i is stored at bits [(i-1)*SumW +: SumW].
  logic [(2*Rows-1)*SumW-1:0] node_q;

  for (genvar k = 0; k < Rows; k++) begin : gen_pe
    logic signed [7:0]  w, x;
    logic signed [15:0] product;
    assign w       = in_w_i[k*8 +: 8];
    assign x       = in_x_i[k*8 +: 8];
    assign product = w * x;
    always_ff @(posedge clk_i) begin
      node_q[(Rows+k-1)*SumW +: SumW] <= {{(SumW-16){product[15]}}, product};
    end
  end

  for (genvar i = 1; i < Rows; i++) begin : gen_node
    logic signed [SumW-1:0] left, right;
    assign left  = node_q[(2*i-1)*SumW +: SumW];
    assign right = node_q[(2*i)*SumW +: SumW];
    always_ff @(posedge clk_i) begin
      node_q[(i-1)*SumW +: SumW] <= left + right;
    end
  end

  // The slice flags travel beside the tree and meet its root.
  logic root_valid, root_first, root_last;
  tp_delay_line #(.Width(2), .Depth(Latency - 1)) u_flags (
    .clk_i, .rst_ni,
    .in_valid_i(in_valid_i), .in_data_i({in_first_i, in_last_i}),
    .out_valid_o(root_valid), .out_data_o({root_first, root_last})
  );

  logic signed [SumW-1:0] root, block_q;
  logic                   block_valid_q;
  assign root = node_q[SumW-1:0];

  always_ff @(posedge clk_i) begin
    if (!rst_ni) block_valid_q <= 1'b0;
    else         block_valid_q <= root_valid & root_last;
  end
  always_ff @(posedge clk_i) begin
    if (root_valid) block_q <= (root_first ? '0 : block_q) + root;
  end

  assign out_valid_o = block_valid_q;
  assign out_dot_o   = block_q;

endmodule
