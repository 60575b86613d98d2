// Runs kubernetes' csi-translation-lib (the version kubernetes v1.36 uses) on requests read as JSON
// lines from stdin and writes one JSON line per request: {"out": <translated object>} or
// {"err": "<message>"} (a panic is reported as an error "panic: ..."). Used by
// scripts/migration-diff.ts to compare our src/migration with upstream's library.
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"

	v1 "k8s.io/api/core/v1"
	storage "k8s.io/api/storage/v1"
	csitrans "k8s.io/csi-translation-lib"
	"k8s.io/klog/v2"
)

type request struct {
	Op     string                `json:"op"` // pv | csipv | inline | sc
	Plugin string                `json:"plugin,omitempty"`
	PV     *v1.PersistentVolume  `json:"pv,omitempty"`
	Volume *v1.Volume            `json:"volume,omitempty"`
	NS     string                `json:"ns,omitempty"`
	SC     *storage.StorageClass `json:"sc,omitempty"`
}

type response struct {
	Out any    `json:"out,omitempty"`
	Err string `json:"err,omitempty"`
}

func handle(t csitrans.CSITranslator, logger klog.Logger, r request) (out any, err error) {
	defer func() {
		if p := recover(); p != nil {
			out, err = nil, fmt.Errorf("panic: %v", p)
		}
	}()
	switch r.Op {
	case "pv":
		return t.TranslateInTreePVToCSI(logger, r.PV)
	case "csipv":
		return t.TranslateCSIPVToInTree(r.PV)
	case "inline":
		return t.TranslateInTreeInlineVolumeToCSI(logger, r.Volume, r.NS)
	case "sc":
		return t.TranslateInTreeStorageClassToCSI(logger, r.Plugin, r.SC)
	}
	return nil, fmt.Errorf("unknown op %q", r.Op)
}

func main() {
	t := csitrans.New()
	logger := klog.Background()
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 1<<26)
	enc := json.NewEncoder(os.Stdout)
	for in.Scan() {
		var r request
		if err := json.Unmarshal(in.Bytes(), &r); err != nil {
			fmt.Fprintln(os.Stderr, "bad request:", err)
			os.Exit(2)
		}
		res := response{}
		out, err := handle(t, logger, r)
		if err != nil {
			res.Err = err.Error()
		} else {
			res.Out = out
		}
		if err := enc.Encode(res); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
	}
}
