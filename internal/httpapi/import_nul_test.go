package httpapi_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/atende/atende/internal/apitest"
	"github.com/atende/atende/internal/store"
	"github.com/atende/atende/internal/store/storetest"
)

// A file with NUL characters is binary to the import (a spreadsheet saved as UTF-16, or not text at all): it
// is refused whole, naming the file and what to do, and nothing is stored.
func TestImportOfAFileWithNULIsRefused(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect store.Dialect) {
		env := apitest.New(t, dialect)
		admin := env.Client(env.AdminKey)
		res, err := admin.ImportContactsWithBodyWithResponse(context.Background(), nil, "text/csv",
			strings.NewReader("nome;telefone;email\nAna\x00Maria;47991230001;ana@example.com\nBia;47991230002;bia\x00@example.com\nCaio;47991230003;\n"))
		require.NoError(t, err)
		p := env.Problem(res.HTTPResponse, res.Body, http.StatusBadRequest)
		require.Equal(t, "file", (*p.Errors)[0].Field)
		require.Contains(t, (*p.Errors)[0].Message, "export it as CSV UTF-8")
		list, err := admin.ListContactsWithResponse(context.Background(), nil)
		require.NoError(t, err)
		require.Empty(t, list.JSON200.Data, "nothing of the file was stored")
	})
}
