({
    // The LWC child decides; this only calls the toolkit and hands the promise's outcome back.
    handleSetStatus: function (component, event) {
        var detail = event.getParams(); // an LWC event's detail
        component
            .find('omniToolkit')
            .setServicePresenceStatus({ statusId: detail.statusId })
            .then(function (result) {
                detail.resolve(result);
            })
            .catch(function (error) {
                detail.reject(error);
            });
    }
});
