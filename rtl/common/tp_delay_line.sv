// tp_delay_line: a valid bit and its data, delayed by a fixed number of cycles.
//
// The sideband of a fixed-latency pipeline (tags, flags, operands a later
// stage needs) travels beside it in one of these, so that it arrives in the
// cycle its stage does. No flow control: the pipeline it shadows never stalls.
//   latency   Depth cycles: in_* sampled at edge k appears on out_* after
//             edge k + Depth - 1 (Depth registers), i.e. it can be used by
//             the stage that samples at edge k + Depth;
//   Depth 0   a wire (out = in).
// Synchronous active-low reset on the valid bits only; the data registers have
// no reset (they are only meaningful while their valid bit is set).
module tp_delay_line #(
  parameter int unsigned Width = 1,  // data bits (>= 1)
  parameter int unsigned Depth = 1   // registers (>= 0)
) (
  input  logic             clk_i,
  input  logic             rst_ni,     // synchronous reset, active low
  input  logic             in_valid_i,
  input  logic [Width-1:0] in_data_i,
  output logic             out_valid_o,
  output logic [Width-1:0] out_data_o
);

  if (Width == 0) begin : gen_width_check
    $error("tp_delay_line: Width must be >= 1");
  end

  if (Depth == 0) begin : gen_wire
    assign out_valid_o = in_valid_i;
    assign out_data_o  = in_data_i;
  end else begin : gen_registers
    // Stage i holds the input of i + 1 cycles ago; stage 0 samples the input.
    logic [Depth-1:0]       valid_q;
    logic [Depth*Width-1:0] data_q;
    for (genvar i = 0; i < Depth; i++) begin : gen_stage
      logic             valid_in;
      logic [Width-1:0] data_in;
      if (i == 0) begin : gen_first
        assign valid_in = in_valid_i;
        assign data_in  = in_data_i;
      end else begin : gen_next
        assign valid_in = valid_q[i-1];
        assign data_in  = data_q[(i-1)*Width +: Width];
      end
      always_ff @(posedge clk_i) begin
        if (!rst_ni) valid_q[i] <= 1'b0;
        else         valid_q[i] <= valid_in;
      end
      always_ff @(posedge clk_i) begin
        data_q[i*Width +: Width] <= data_in;
      end
    end
    assign out_valid_o = valid_q[Depth-1];
    assign out_data_o  = data_q[(Depth-1)*Width +: Width];
  end

endmodule
