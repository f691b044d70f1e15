using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Viewstamped.Runtime.Diagnostics;
using Viewstamped.Runtime.Host;
using Viewstamped.Runtime.Storage;

namespace Viewstamped.Runtime.Hosting;

/// <summary>
/// The hosted service that runs one replica of <typeparamref name="TService"/> in a generic host:
/// it builds a fresh service (through dependency injection), opens the storage, starts a
/// <see cref="ReplicaHost"/> and stops it with the application. A fatal replica error stops the application.
/// </summary>
/// <typeparam name="TService">The replicated service.</typeparam>
public sealed class ViewstampedReplicaService<TService> : IHostedService, IAsyncDisposable
    where TService : class, IService
{
    private readonly IServiceProvider services;
    private readonly IOptions<ReplicaHostOptions> options;
    private readonly ILoggerFactory loggerFactory;
    private readonly IHostApplicationLifetime? lifetime;
    private FileStorage? ownedStorage;

    /// <summary>Created by dependency injection.</summary>
    public ViewstampedReplicaService(IServiceProvider services, IOptions<ReplicaHostOptions> options, ILoggerFactory loggerFactory)
    {
        this.services = services;
        this.options = options;
        this.loggerFactory = loggerFactory;
        lifetime = services.GetService<IHostApplicationLifetime>();
    }

    /// <summary>The running replica, once started.</summary>
    public ReplicaHost? Host { get; private set; }

    /// <summary>The service instance the replica runs, once started.</summary>
    public TService? Service { get; private set; }

    /// <summary>The fatal error that stopped the replica, if one did.</summary>
    public Exception? Fault { get; private set; }

    /// <inheritdoc />
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var settings = options.Value;
        var logger = loggerFactory.CreateLogger("Viewstamped.Replica");
        IReplicaStorage storage;
        if (settings.DataDirectory is { } directory)
        {
            ownedStorage = FileStorage.Open(directory, settings.Cluster, new ReplicaIndex((byte)settings.Replica));
            storage = ownedStorage;
        }
        else if (services.GetService<IReplicaStorage>() is { } registered)
        {
            storage = registered;
        }
        else
        {
            RuntimeLog.InMemoryStorage(logger, settings.Replica);
            storage = new MemoryStorage();
        }

        Service = ActivatorUtilities.CreateInstance<TService>(services);
        Host = new ReplicaHost(settings, Service, storage, loggerFactory, services.GetService<TimeProvider>(), services.GetService<IMeterFactory>());
        await Host.StartAsync(cancellationToken).ConfigureAwait(false);
        _ = Host.Completion.ContinueWith(
            completed =>
            {
                if (completed.Exception is { } failure)
                {
                    Fault = failure.InnerException ?? failure;
                    lifetime?.StopApplication();
                }
            },
            CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default);
    }

    /// <inheritdoc />
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (Host is not null)
        {
            await Host.StopAsync(cancellationToken).ConfigureAwait(false);
        }

        ownedStorage?.Dispose();
        ownedStorage = null;
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (Host is not null)
        {
            await Host.DisposeAsync().ConfigureAwait(false);
        }

        ownedStorage?.Dispose();
        ownedStorage = null;
    }
}
