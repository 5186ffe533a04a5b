package order

import (
	"context"
	"errors"
	"fmt"

	"github.com/wechatpay-apiv3/wechatpay-go/core"
	"github.com/wechatpay-apiv3/wechatpay-go/services/transferbatch"

	"microshop/tenants/fault"
)

// Transfers to a WeChat user's balance (商家转账到零钱: POST
// /v3/transfer/batches through the SDK's transferbatch service), made with
// the shop's WeChat Pay account: distribution pays withdrawals with them.
// The out_batch_no is the caller's key (a withdrawal's id): WeChat Pay
// refuses a second batch with the same number, and a query by it
// (GET /v3/transfer/batches/out-batch-no/{no}) says how the one there went.

// Transfer is one transfer of Amount fen to the user OpenID of the shop's
// official account.
type Transfer struct {
	OutBatchNo string
	OpenID     string
	Amount     int64
	Remark     string
}

// Transfer states.
const (
	TransferProcessing = "processing"
	TransferSucceeded  = "succeeded"
	TransferFailed     = "failed"
)

// TransferState is how a transfer stands at WeChat Pay: BatchID is its
// number there (the bill number shown to the merchant and the
// distributor), Failure why it failed.
type TransferState struct {
	BatchID string `json:"batch_id"`
	Status  string `json:"status"`
	Failure string `json:"failure,omitempty"`
	// Unknown: WeChat Pay has no such batch (failed: nothing was paid,
	// unless a create is still on its way).
	Unknown bool `json:"unknown,omitempty"`
}

// ErrTransferRefused is a transfer WeChat Pay refused outright (nothing
// was paid).
var ErrTransferRefused = errors.New("wechat pay refused the transfer")

// Transfer asks WeChat Pay to make t (or, for a number it has seen, says
// how that one stands). A refusal is ErrTransferRefused wrapped in a 409
// saying why; no answer is a 502, and the caller asks again later.
func (s *Service) Transfer(ctx context.Context, tenantID string, t Transfer) (TransferState, error) {
	acct, pc, err := s.transferClient(ctx, tenantID)
	var fe *fault.Error
	if errors.As(err, &fe) && fe.Status < 500 {
		return TransferState{Status: TransferFailed, Failure: fe.Code}, fmt.Errorf("%w: %w", ErrTransferRefused, err)
	}
	if err != nil {
		return TransferState{}, err
	}
	remark := fault.Clip(t.Remark, 32)
	resp, _, err := pc.transfers.InitiateBatchTransfer(ctx, transferbatch.InitiateBatchTransferRequest{
		Appid: core.String(acct.AppID), OutBatchNo: core.String(t.OutBatchNo), BatchName: core.String(remark),
		BatchRemark: core.String(remark), TotalAmount: core.Int64(t.Amount), TotalNum: core.Int64(1),
		TransferDetailList: []transferbatch.TransferDetailInput{{OutDetailNo: core.String(t.OutBatchNo),
			TransferAmount: core.Int64(t.Amount), TransferRemark: core.String(remark), Openid: core.String(t.OpenID)}},
	})
	var ae *core.APIError
	errors.As(err, &ae)
	switch {
	case ae != nil && ae.Code == "INVALID_REQUEST" && ae.Message == duplicateBatch:
		return s.QueryTransfer(ctx, tenantID, t.OutBatchNo)
	case ae != nil && ae.StatusCode < 500 && ae.Code != "SYSTEM_ERROR" && ae.Code != "FREQUENCY_LIMITED":
		return TransferState{Status: TransferFailed, Failure: ae.Code}, fmt.Errorf("%w: %w", ErrTransferRefused,
			fault.Conflict("WeChat Pay refused the transfer: %s", fault.Clip(ae.Message, 120)))
	case err != nil:
		return TransferState{}, fmt.Errorf("wechat pay transfer %s: %w: %w", t.OutBatchNo, errPayUnavailable, err)
	}
	st := TransferState{BatchID: str(resp.BatchId), Status: TransferProcessing}
	// A batch is usually settled within moments: ask once at once.
	if q, err := s.QueryTransfer(ctx, tenantID, t.OutBatchNo); err == nil && q.Status != TransferProcessing {
		return q, nil
	}
	return st, nil
}

// duplicateBatch is WeChat Pay's message for a batch number seen before.
const duplicateBatch = "商家批次单号重复"

// QueryTransfer says how the transfer outBatchNo stands at WeChat Pay; one
// it never received is failed (nothing was paid).
func (s *Service) QueryTransfer(ctx context.Context, tenantID, outBatchNo string) (TransferState, error) {
	_, pc, err := s.transferClient(ctx, tenantID)
	if err != nil {
		return TransferState{}, err
	}
	resp, _, err := pc.transfers.GetTransferBatchByOutNo(ctx, transferbatch.GetTransferBatchByOutNoRequest{
		OutBatchNo: core.String(outBatchNo), NeedQueryDetail: core.Bool(false)})
	if code := apiCode(err); code == "NOT_FOUND" || code == "RESOURCE_NOT_EXISTS" {
		return TransferState{Status: TransferFailed, Failure: "not received by WeChat Pay", Unknown: true}, nil
	}
	if err != nil {
		return TransferState{}, fmt.Errorf("query wechat pay transfer %s: %w: %w", outBatchNo, errPayUnavailable, err)
	}
	b := resp.TransferBatch
	if b == nil {
		return TransferState{Status: TransferProcessing}, nil
	}
	st := TransferState{BatchID: str(b.BatchId), Status: TransferProcessing}
	switch str(b.BatchStatus) {
	case "FINISHED":
		if b.SuccessNum != nil && b.TotalNum != nil && *b.SuccessNum == *b.TotalNum {
			st.Status = TransferSucceeded
		} else {
			st.Status, st.Failure = TransferFailed, "the transfer did not reach the user"
		}
	case "CLOSED":
		st.Status, st.Failure = TransferFailed, "closed by WeChat Pay"
		if b.CloseReason != nil {
			st.Failure = string(*b.CloseReason)
		}
	}
	return st, nil
}

// transferClient is the shop's WeChat Pay account and client, or a 409
// when it has none.
func (s *Service) transferClient(ctx context.Context, tenantID string) (WeChatPaySettings, *payClient, error) {
	st, err := s.Settings(ctx, tenantID)
	if err != nil {
		return WeChatPaySettings{}, nil, err
	}
	acct, ok, err := s.payAccount(ctx, tenantID, st, true)
	if err != nil {
		return WeChatPaySettings{}, nil, err
	}
	if !ok {
		return WeChatPaySettings{}, nil, fault.Conflict("this shop has no WeChat Pay account to transfer with")
	}
	pc, err := s.wechatPay().client(ctx, tenantID, acct)
	return acct, pc, err
}
