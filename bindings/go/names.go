package backendai

import "strconv"

// The enums print as the names the configuration and the other bindings use for them:
// fmt.Println(backendai.EndpointAPI) prints "api".

func enumName(names []string, v int32, typ string) string {
	if v >= 0 && int(v) < len(names) {
		return names[v]
	}
	return typ + "(" + strconv.Itoa(int(v)) + ")"
}

// String is "api" or "session", as in BACKEND_ENDPOINT_TYPE.
func (t EndpointType) String() string {
	return enumName([]string{"api", "session"}, int32(t), "EndpointType")
}

// String is "interactive" or "batch".
func (t SessionType) String() string {
	return enumName([]string{"interactive", "batch"}, int32(t), "SessionType")
}

// String is "single-node" or "multi-node".
func (m ClusterMode) String() string {
	return enumName([]string{"single-node", "multi-node"}, int32(m), "ClusterMode")
}

// String is the console record kind: "stdout", "stderr", "html", "log", "completion", "other".
func (s Stream) String() string {
	return enumName([]string{"stdout", "stderr", "html", "log", "completion", "other"}, int32(s), "Stream")
}

// String is "query", "batch", "continue" or "input".
func (m ExecMode) String() string {
	return enumName([]string{"query", "batch", "continue", "input"}, int32(m), "ExecMode")
}
