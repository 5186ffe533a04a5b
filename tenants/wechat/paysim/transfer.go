package paysim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"
)

// Transfers to a user's WeChat balance (商家转账到零钱): POST
// /v3/transfer/batches takes a batch (here of any number of details, all
// to openids), answered ACCEPTED; it is FINISHED at once, every detail
// SUCCESS, or under the merchant's FailTransfers rule every detail FAIL.
// The same out_batch_no again answers the batch there is. GET
// .../out-batch-no/{no} answers it as it is.

const transfersPath = "/v3/transfer/batches"

// TransferBatch is one batch as WeChat Pay's query answers it.
type TransferBatch struct {
	MchID         string `json:"mchid"`
	OutBatchNo    string `json:"out_batch_no"`
	BatchID       string `json:"batch_id"`
	AppID         string `json:"appid"`
	BatchStatus   string `json:"batch_status"`
	BatchType     string `json:"batch_type"`
	BatchName     string `json:"batch_name"`
	BatchRemark   string `json:"batch_remark"`
	TotalAmount   int64  `json:"total_amount"`
	TotalNum      int64  `json:"total_num"`
	CreateTime    string `json:"create_time"`
	UpdateTime    string `json:"update_time"`
	SuccessAmount int64  `json:"success_amount"`
	SuccessNum    int64  `json:"success_num"`
	FailAmount    int64  `json:"fail_amount"`
	FailNum       int64  `json:"fail_num"`
	// OpenIDs are the details' receivers.
	OpenIDs []string `json:"-"`
}

type transferRequest struct {
	AppID       string `json:"appid"`
	OutBatchNo  string `json:"out_batch_no"`
	BatchName   string `json:"batch_name"`
	BatchRemark string `json:"batch_remark"`
	TotalAmount int64  `json:"total_amount"`
	TotalNum    int64  `json:"total_num"`
	Details     []struct {
		OutDetailNo    string `json:"out_detail_no"`
		TransferAmount int64  `json:"transfer_amount"`
		TransferRemark string `json:"transfer_remark"`
		OpenID         string `json:"openid"`
	} `json:"transfer_detail_list"`
}

func (s *Simulator) createTransfer(w http.ResponseWriter, m *merchant, body []byte) {
	var in transferRequest
	if err := json.Unmarshal(body, &in); err != nil {
		s.answer(w, http.StatusBadRequest, apiError("PARAM_ERROR", "body is not JSON"))
		return
	}
	var sum int64
	for _, d := range in.Details {
		if d.OpenID == "" || d.TransferAmount <= 0 || d.OutDetailNo == "" {
			s.answer(w, http.StatusBadRequest, apiError("PARAM_ERROR", "every detail needs out_detail_no, openid and a positive transfer_amount"))
			return
		}
		sum += d.TransferAmount
	}
	switch {
	case in.AppID == "" || in.OutBatchNo == "" || len(in.OutBatchNo) > 32 || in.BatchName == "" || in.BatchRemark == "":
		s.answer(w, http.StatusBadRequest, apiError("PARAM_ERROR", "appid, out_batch_no (at most 32), batch_name and batch_remark are required"))
		return
	case len(in.Details) == 0 || int64(len(in.Details)) != in.TotalNum || sum != in.TotalAmount:
		s.answer(w, http.StatusBadRequest, apiError("PARAM_ERROR", "total_num and total_amount must add up the details"))
		return
	}
	now := time.Now().In(chinaTime).Format(time.RFC3339)
	s.mu.Lock()
	b, ok := m.transfers[in.OutBatchNo]
	if !ok {
		s.seq++
		b = &TransferBatch{MchID: m.MchID, OutBatchNo: in.OutBatchNo, AppID: in.AppID, BatchType: "API",
			BatchID:   fmt.Sprintf("1030000%s%s%06d", time.Now().Format("20060102"), randomDigits(8), s.seq%1_000_000),
			BatchName: in.BatchName, BatchRemark: in.BatchRemark, TotalAmount: in.TotalAmount, TotalNum: in.TotalNum,
			CreateTime: now, UpdateTime: now, BatchStatus: "FINISHED"}
		for _, d := range in.Details {
			b.OpenIDs = append(b.OpenIDs, d.OpenID)
		}
		if m.rule.FailTransfers {
			b.FailAmount, b.FailNum = b.TotalAmount, b.TotalNum
		} else {
			b.SuccessAmount, b.SuccessNum = b.TotalAmount, b.TotalNum
		}
		m.transfers[in.OutBatchNo] = b
	}
	c := *b
	s.mu.Unlock()
	if ok && c.TotalAmount != in.TotalAmount {
		s.answer(w, http.StatusBadRequest, apiError("INVALID_REQUEST", "商家批次单号重复"))
		return
	}
	s.answer(w, http.StatusOK, map[string]string{"out_batch_no": c.OutBatchNo, "batch_id": c.BatchID,
		"create_time": c.CreateTime, "batch_status": "ACCEPTED"})
}

func (s *Simulator) queryTransfer(w http.ResponseWriter, m *merchant, outBatchNo string) {
	s.mu.Lock()
	b, ok := m.transfers[outBatchNo]
	var c TransferBatch
	if ok {
		c = *b
	}
	s.mu.Unlock()
	if !ok {
		s.answer(w, http.StatusNotFound, apiError("NOT_FOUND", "记录不存在"))
		return
	}
	s.answer(w, http.StatusOK, map[string]any{"transfer_batch": c})
}

// TransferOf returns the merchant's batch out_batch_no as it is.
func (s *Simulator) TransferOf(mchID, outBatchNo string) (TransferBatch, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if m, ok := s.merchants[mchID]; ok {
		if b, ok := m.transfers[outBatchNo]; ok {
			return *b, true
		}
	}
	return TransferBatch{}, false
}
