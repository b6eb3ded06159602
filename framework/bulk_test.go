package framework_test

import (
	"testing"

	"github.com/autoapi-go/autoapi/framework"
)

func TestBulkOperations(t *testing.T) {
	h := buildApp(t, appSpec{models: []func(*framework.App) error{
		registered[Member](), registered[Thread](), registered[Reply](), registered[Reaction](), registered[Watcher](), registered[Sticker](),
	}})
	playSteps(t, h, []step{
		{"m1", adminToken, "POST", "/api/members", `{"email":"a@x.io","team":"red","badge":1}`, 201, "", ""},
		{"m2", adminToken, "POST", "/api/members", `{"email":"b@x.io","team":"red","badge":2}`, 201, "", ""},
		{"m3", adminToken, "POST", "/api/members", `{"email":"c@x.io","team":"blue","badge":1}`, 201, "", ""},
		{"no filter, no wipe", userToken, "DELETE", "/api/members", "", 400, "at least one filter", ""},
		{"paging makes no sense", userToken, "DELETE", "/api/members?team=red&limit=1", "", 400, fieldErr("limit"), ""},
		{"anonymous", "", "DELETE", "/api/members?team=red", "", 401, "", ""},
		{"reader may not delete", readerToken, "DELETE", "/api/members?team=red", "", 403, "", ""},
		{"delete the red team", userToken, "DELETE", "/api/members?team=red", "", 200, `{"success":true,"softDeleted":true,"count":2}`, ""},
		{"again: nothing live matches", userToken, "DELETE", "/api/members?team=red", "", 200, `"count":0`, ""},
		{"an OR cannot reach deleted rows", userToken, "DELETE", "/api/members?filter=team%20%3D%20%22red%22%20%7C%7C%20id%20%3D%203", "", 200, `"count":1`, ""},
		{"user may not bulk restore", userToken, "POST", "/api/members/restore?team=red", "", 403, "", ""},
		{"a live row takes an email", adminToken, "POST", "/api/members", `{"email":"a@x.io","team":"green","badge":7}`, 201, "", ""},
		{"the collision aborts the batch", adminToken, "POST", "/api/members/restore?team=red", "", 409, fieldErr("email"), ""},
		{"nothing was restored", adminToken, "GET", "/api/members?team=red", "", 200, `"total":0`, ""},
		{"restore the rest", adminToken, "POST", "/api/members/restore?filter=email%20%21%3D%20%22a%40x.io%22", "", 200, `{"success":true,"restored":true,"count":2}`, ""},
		{"stickers hard delete", adminToken, "POST", "/api/stickers", `{"name":"go"}`, 201, "", ""},
		{"stickers bulk delete", userToken, "DELETE", "/api/stickers?name%5Blike%5D=g*", "", 200, `{"success":true,"softDeleted":false,"count":1}`, ""},
		{"no bulk restore without soft deletes", adminToken, "POST", "/api/stickers/restore?name=go", "", 404, "", ""},
		{"thread", adminToken, "POST", "/api/threads", `{"title":"t"}`, 201, "", ""},
		{"reply", adminToken, "POST", "/api/replies", `{"threadId":1,"body":"r"}`, 201, "", ""},
		{"bulk delete cascades", userToken, "DELETE", "/api/threads?id=1", "", 200, `"count":1`, ""},
		{"the reply went too", adminToken, "GET", "/api/replies?onlyDeleted=true", "", 200, `"total":1`, ""},
		{"bulk restore cascades", adminToken, "POST", "/api/threads/restore?id=1", "", 200, `"count":1`, ""},
		{"the reply came back", adminToken, "GET", "/api/replies", "", 200, `"total":1`, ""},
	})
}
