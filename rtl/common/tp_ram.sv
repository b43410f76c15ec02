// tp_ram: simple dual-port RAM (one write port, one read port) with a
// registered read: the word at rd_addr_i sampled at edge k is on rd_data_o
// from edge k on (latency 1). A read of the address written at the same edge
// returns the old word. No reset: a word is read only after it was written.
// Yosys and Vivado infer block RAM (or LUT RAM for small sizes) from it.
module tp_ram #(
  parameter int unsigned Width = 32,   // bits per word (>= 1)
  parameter int unsigned Depth = 64    // words (>= 2)
) (
  input  logic                     clk_i,
  input  logic                     we_i,
  input  logic [$clog2(Depth)-1:0] wr_addr_i,
  input  logic [Width-1:0]         wr_data_i,
  input  logic                     re_i,
  input  logic [$clog2(Depth)-1:0] rd_addr_i,
  output logic [Width-1:0]         rd_data_o
);

  logic [Width-1:0] mem_q [Depth];

  always_ff @(posedge clk_i) begin
    if (we_i) mem_q[wr_addr_i] <= wr_data_i;
    if (re_i) rd_data_o <= mem_q[rd_addr_i];
  end

endmodule
