// tp_fifo: a small synchronous first-word-fall-through FIFO in LUT RAM.
//
//   in_*   valid/ready; in_ready_o = not full (from flops);
//   out_*  valid/ready; out_valid_o = not empty (from flops), out_data_o the
//          oldest word, read asynchronously from the LUT RAM;
//   latency  1 cycle: a word written at edge k is on out_* from edge k on and
//          can leave at edge k+1; one word in and one out per cycle, also when
//          full (a pop frees the slot only at the edge, so a full FIFO takes
//          no word in the cycle it pops: in_ready_o does not wait on out_ready_i);
//   count_o  the words held.
// Synchronous active-low reset on the pointers only (the FIFO empties); the
// RAM has none.
// Resources: Depth x Width bits of distributed RAM, two pointers.
module tp_fifo #(
  parameter int unsigned Width = 32,  // bits per word (>= 1)
  parameter int unsigned Depth = 4    // words, power of two >= 2
) (
  input  logic                     clk_i,
  input  logic                     rst_ni,       // synchronous reset, active low
  input  logic                     in_valid_i,
  output logic                     in_ready_o,   // not full
  input  logic [Width-1:0]         in_data_i,
  output logic                     out_valid_o,  // not empty
  input  logic                     out_ready_i,
  output logic [Width-1:0]         out_data_o,
  output logic [$clog2(Depth):0]   count_o
);

  localparam int unsigned PtrW = $clog2(Depth);

  if (Width == 0 || Depth < 2 || (1 << PtrW) != Depth) begin : gen_param_check
    $error("tp_fifo: Width must be >= 1 and Depth a power of two >= 2");
  end

  logic [Width-1:0] mem [Depth];
  logic [PtrW:0]    wr_q, rd_q;

  assign count_o     = wr_q - rd_q;
  assign in_ready_o  = count_o != (PtrW+1)'(Depth);
  assign out_valid_o = wr_q != rd_q;
  assign out_data_o  = mem[rd_q[PtrW-1:0]];

  always_ff @(posedge clk_i) begin
    if (in_valid_i && in_ready_o) mem[wr_q[PtrW-1:0]] <= in_data_i;
  end

  always_ff @(posedge clk_i) begin
    if (!rst_ni) begin
      wr_q <= '0;
      rd_q <= '0;
    end else begin
      if (in_valid_i && in_ready_o) wr_q <= wr_q + 1'b1;
      if (out_valid_o && out_ready_i) rd_q <= rd_q + 1'b1;
    end
  end

`ifndef SYNTHESIS
  tp_stream_checker #(.Width(Width), .Name("tp_fifo in")) u_in_check (
    .clk_i, .rst_ni, .valid_i(in_valid_i), .ready_i(in_ready_o), .data_i(in_data_i)
  );
`endif

endmodule
