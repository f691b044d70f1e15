using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Viewstamped.Runtime.Host;
using Viewstamped.Runtime.Security;
using Viewstamped.Runtime.Storage;

namespace Viewstamped.Runtime.Hosting;

/// <summary>Registers a Viewstamped replica in a Microsoft.Extensions.Hosting application.</summary>
public static class ViewstampedServiceCollectionExtensions
{
    /// <summary>
    /// Runs one replica of <typeparamref name="TService"/> as a hosted service, with options bound from
    /// <paramref name="configuration"/> (usually the <c>Viewstamped</c> section) and then
    /// <paramref name="configure"/>, validated when the host starts. When <see cref="ReplicaHostOptions.DataDirectory"/>
    /// is set the replica uses file storage and takes its cluster, index and configuration from the
    /// directory's superblock if the options leave them out; otherwise it uses an
    /// <see cref="IReplicaStorage"/> from the container, or memory (with a warning). The directory's
    /// <see cref="SecurityConfig"/> (from <c>vsr format --tls-*</c>) supplies the TLS files unless the options name them.
    /// </summary>
    public static IServiceCollection AddViewstampedReplica<TService>(
        this IServiceCollection services, IConfiguration? configuration, Action<ReplicaHostOptions>? configure = null)
        where TService : class, IService
    {
        ArgumentNullException.ThrowIfNull(services);
        var builder = services.AddOptions<ReplicaHostOptions>();
        if (configuration is not null)
        {
            builder.Bind(configuration);
        }

        if (configure is not null)
        {
            builder.Configure(configure);
        }

        builder.PostConfigure(FillFromDataDirectory).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<ReplicaHostOptions>, ReplicaHostOptionsValidator>());
        services.TryAddSingleton<ViewstampedReplicaService<TService>>();
        services.AddHostedService(provider => provider.GetRequiredService<ViewstampedReplicaService<TService>>());
        return services;
    }

    /// <summary>Runs one replica of <typeparamref name="TService"/>, configured in code.</summary>
    public static IServiceCollection AddViewstampedReplica<TService>(this IServiceCollection services, Action<ReplicaHostOptions>? configure = null)
        where TService : class, IService =>
        services.AddViewstampedReplica<TService>(null, configure);

    private static void FillFromDataDirectory(ReplicaHostOptions options)
    {
        if (options.DataDirectory is null || !Directory.Exists(options.DataDirectory))
        {
            return;
        }

        if (options.Tls is null && options.TlsCertificateFile is null && options.TlsAuthorityFile is null
            && SecurityConfig.Load(options.DataDirectory) is { } security)
        {
            options.TlsCertificateFile = security.TlsCertificateFile;
            options.TlsKeyFile = security.TlsKeyFile;
            options.TlsAuthorityFile = security.TlsAuthorityFile;
        }

        if (options.Replicas.Count > 0)
        {
            return;
        }

        try
        {
            var identity = FileStorage.Inspect(options.DataDirectory).Identity;
            options.Cluster = identity.Cluster;
            options.Replica = identity.Replica.Value;
            options.Replicas.AddRange(identity.Configuration);
        }
        catch (StorageException)
        {
            // Validation reports the missing configuration; opening the storage reports why.
        }
    }

    private sealed class ReplicaHostOptionsValidator : IValidateOptions<ReplicaHostOptions>
    {
        public ValidateOptionsResult Validate(string? name, ReplicaHostOptions options)
        {
            var errors = options.Validate().ToList();
            if (options.DataDirectory is { } directory && !Directory.Exists(directory))
            {
                errors.Add($"DataDirectory {directory} does not exist; create it with 'vsr format'");
            }

            return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
        }
    }
}
